-- dealwatch warehouse, schema version 7: the label of the watched target an alert was raised under (the
-- profile's [target] label, e.g. 'Saxonia Wafer'), stored with the alert when it is raised, so that its
-- message names that target whenever it goes out: in a later cycle, after a restart, after `dealwatch alerts
-- --retry`, whatever profile the deliverer runs with by then.
-- Rows raised before this version keep NULL: nothing recorded which profile raised them; the deliverer names
-- them with its own profile's label (the profile the warehouse is being run with).
ALTER TABLE alerts ADD COLUMN target_label VARCHAR;
