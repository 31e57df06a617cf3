-- dealwatch warehouse, schema version 4: each feed's own clock (dealwatch/schedule.py).
-- next_poll_at keeps its meaning, "not polled before this": what the feed allows (backoff, Retry-After,
-- Cache-Control max-age, RSS ttl), binding on every cycle. due_at is the feed's own schedule, adapted to how
-- often it publishes, which `dealwatch serve`'s short cycles follow.
ALTER TABLE feeds ADD COLUMN due_at TIMESTAMP;              -- NULL: due now (a new feed)
ALTER TABLE feeds ADD COLUMN due_reason VARCHAR;            -- why it is due then, in words (dealwatch feeds)
ALTER TABLE feeds ADD COLUMN rate_items DOUBLE DEFAULT 0;   -- new entries found, weighted by age
ALTER TABLE feeds ADD COLUMN rate_hours DOUBLE DEFAULT 0;   -- hours observed, weighted by age
ALTER TABLE feeds ADD COLUMN ttl_seconds DOUBLE;            -- the RSS <ttl> last read (a 304 carries no body)
ALTER TABLE feeds ADD COLUMN skip_hours INTEGER[];          -- the RSS <skipHours> last read, UTC
