-- dealwatch warehouse, schema version 3: what was odd in a feed that was read all the same, the outlet an
-- aggregator's entry names, and the publisher URLs that Google News article ids were decoded to.

-- A feed read with a recoverable problem (malformed XML with entries, an encoding declared wrong) is a
-- healthy poll: last_error stays NULL, and this says what was odd (NULL once a poll finds nothing odd).
ALTER TABLE feeds ADD COLUMN last_warning VARCHAR;

-- The outlet named by a search feed's entry (RSS <source>): the article's source when only the feed's
-- title and summary can stand in for the page.
ALTER TABLE feed_items ADD COLUMN source VARCHAR;

-- Google News article link -> the publisher's URL (NULL: decoding failed), so that an id is sent to
-- Google's decoding endpoint once, not at every poll of a feed that lists it for hours.
CREATE TABLE news_links (
    link          VARCHAR PRIMARY KEY,
    publisher_url VARCHAR,
    error         VARCHAR,
    resolved_at   TIMESTAMP NOT NULL
);
