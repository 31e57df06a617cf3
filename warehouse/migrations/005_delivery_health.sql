-- dealwatch warehouse, schema version 5: delivery health per destination (see warehouse/README.md).
-- A destination is one notification URL, named in apprise's privacy form (passwords and tokens hidden),
-- the form alerts.delivered_to already uses: nothing here is a secret.

-- One row per destination ever delivered to: whether it works, since when it fails and why.
CREATE TABLE destinations (
    destination      VARCHAR PRIMARY KEY,
    state            VARCHAR NOT NULL DEFAULT 'ok',   -- ok | failing
    failing_since    TIMESTAMP,                       -- the first failed attempt of the current outage
    failed_attempts  INTEGER NOT NULL DEFAULT 0,      -- failed attempts in the current outage
    last_error       VARCHAR,
    last_attempt_at  TIMESTAMP,
    last_ok_at       TIMESTAMP,
    reported_at      TIMESTAMP                        -- when the current outage was reported through the others
);

-- Alerts a destination refused for good (authentication refused, a rejected address, a malformed URL):
-- not tried there again until `dealwatch alerts --retry` re-queues them.
CREATE TABLE alert_failures (
    alert_id    BIGINT NOT NULL,
    destination VARCHAR NOT NULL,
    error       VARCHAR NOT NULL,
    failed_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (alert_id, destination)
);

-- Transient failures no longer give up: alerts an earlier version marked 'failed' after 8 attempts are
-- delivered again (their destinations were down, not refusing them).
UPDATE alerts SET status = 'pending', next_attempt_at = NULL WHERE status = 'failed';
