-- dealwatch warehouse, schema version 1.
-- The contract with users and the evaluation harness: articles, facts, alerts (see warehouse/README.md).
-- Everything else is dealwatch's own bookkeeping: feeds (poll state), feed_items (the fetch queue), runs.

CREATE TABLE feeds (
    url                  VARCHAR PRIMARY KEY,
    title                VARCHAR,
    etag                 VARCHAR,      -- validators, each kept as the server last sent it
    last_modified        VARCHAR,
    last_polled_at       TIMESTAMP,
    last_success_at      TIMESTAMP,
    last_status          INTEGER,      -- HTTP status of the last poll (304 = unchanged)
    last_error           VARCHAR,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at         TIMESTAMP,    -- not polled before this (backoff, Retry-After)
    parked               BOOLEAN NOT NULL DEFAULT false,
    items_seen           INTEGER NOT NULL DEFAULT 0
);

-- Every feed entry ever seen, by canonical link: the queue between polling and fetching. An entry is
-- written here, with its feed's new validators, before any page is fetched, so a crash never loses it.
CREATE TABLE feed_items (
    link            VARCHAR PRIMARY KEY,
    feed_url        VARCHAR NOT NULL,
    title           VARCHAR,
    summary         VARCHAR,
    published_at    TIMESTAMP,
    guid            VARCHAR,
    first_seen_at   TIMESTAMP NOT NULL,
    status          VARCHAR NOT NULL DEFAULT 'pending',   -- pending | done | parked
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_error      VARCHAR
);

CREATE TABLE articles (
    url             VARCHAR PRIMARY KEY,  -- the feed item's (canonical) link
    final_url       VARCHAR,              -- after redirects
    feed_url        VARCHAR,
    title           VARCHAR,
    source          VARCHAR,
    published_at    TIMESTAMP,
    lang            VARCHAR,
    relevant        BOOLEAN,
    relevance_score DOUBLE,
    relevance_reason VARCHAR,
    relevance_terms VARCHAR[],
    text            VARCHAR,
    text_source     VARCHAR NOT NULL DEFAULT 'page',     -- page | feed (the page gave no text: feed summary)
    fetch_error     VARCHAR,                             -- why the page was not used, when text_source = 'feed'
    content_hash    VARCHAR,
    fingerprint     UBIGINT,                             -- SimHash of the text, for near-duplicate copies
    story_url       VARCHAR NOT NULL,                    -- the first article of the same story (itself if first)
    fetched_at      TIMESTAMP NOT NULL,
    run_id          VARCHAR
);

-- One row per distinct (article_url, kind, value) of a relevant article that is the first of its story.
CREATE TABLE facts (
    article_url   VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,   -- bidder | deadline | price
    value         VARCHAR NOT NULL,   -- canonical name | ISO date | 'USD <low>-<high>'
    evidence      VARCHAR,
    detail        JSON,
    found_at      TIMESTAMP NOT NULL,
    run_id        VARCHAR,
    PRIMARY KEY (article_url, kind, value)
);

CREATE SEQUENCE alert_ids START 1;

-- The outbox: one row per bidder or deadline the warehouse had never seen, written in the same
-- transaction as the fact that raised it; delivered after commit.
CREATE TABLE alerts (
    id              BIGINT PRIMARY KEY DEFAULT nextval('alert_ids'),
    kind            VARCHAR NOT NULL,   -- bidder | deadline
    value           VARCHAR NOT NULL,
    article_url     VARCHAR NOT NULL,
    evidence        VARCHAR,
    detail          JSON,
    created_at      TIMESTAMP NOT NULL,
    status          VARCHAR NOT NULL DEFAULT 'pending',  -- pending | sending (claimed, lease in next_attempt_at) | sent | failed (gave up)
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_error      VARCHAR,
    delivered_to    VARCHAR[],   -- masked URLs that accepted it, so a retry after a partial failure skips them
    sent_at         TIMESTAMP,
    run_id          VARCHAR,
    UNIQUE (kind, value)
);

CREATE TABLE runs (
    run_id        VARCHAR PRIMARY KEY,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL DEFAULT 'running',   -- running | completed | failed
    feeds_polled  INTEGER,
    feeds_failed  INTEGER,
    articles_new  INTEGER,
    relevant_new  INTEGER,
    facts_new     INTEGER,
    alerts_new    INTEGER,
    alerts_sent   INTEGER,
    alerts_failed INTEGER
);
