-- dealwatch lake, version 3, PostgreSQL side: the label of the target an alert was raised under (the file
-- warehouse's migration 007; NULL for older alerts: the deliverer's profile names them).
ALTER TABLE alerts ADD COLUMN target_label VARCHAR;
