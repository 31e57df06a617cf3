-- dealwatch lake, version 2, PostgreSQL side: the shard a cycle ran (the file warehouse's migration 006).
ALTER TABLE runs ADD COLUMN shard_index INTEGER;
ALTER TABLE runs ADD COLUMN shard_count INTEGER;
