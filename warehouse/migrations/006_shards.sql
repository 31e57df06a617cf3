-- dealwatch warehouse, schema version 6: the shard a cycle ran (dealwatch run --shard K/N), NULL for a cycle of
-- every feed. A run row still 'running' is found 'interrupted' only by the next cycle of its own shard (or of
-- every feed), the only one that knows its process is gone: shard 2/2 runs beside 1/2.
ALTER TABLE runs ADD COLUMN shard_index INTEGER;
ALTER TABLE runs ADD COLUMN shard_count INTEGER;
