-- dealwatch lake, version 1, PostgreSQL side (schema `dealwatch`): the coordination state, where
-- uniqueness and atomic claims are PostgreSQL's real constraints and row locks. Same tables and columns as
-- the file warehouse's migrations 001-005 (see warehouse/README.md), in PostgreSQL's types.

CREATE TABLE feeds (
    url                  VARCHAR PRIMARY KEY,
    title                VARCHAR,
    etag                 VARCHAR,
    last_modified        VARCHAR,
    last_polled_at       TIMESTAMP,
    last_success_at      TIMESTAMP,
    last_status          INTEGER,
    last_error           VARCHAR,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at         TIMESTAMP,
    parked               BOOLEAN NOT NULL DEFAULT false,
    items_seen           INTEGER NOT NULL DEFAULT 0,
    last_warning         VARCHAR,
    due_at               TIMESTAMP,
    due_reason           VARCHAR,
    rate_items           DOUBLE PRECISION DEFAULT 0,
    rate_hours           DOUBLE PRECISION DEFAULT 0,
    ttl_seconds          DOUBLE PRECISION,
    skip_hours           INTEGER[]
);

CREATE TABLE feed_items (
    link            VARCHAR PRIMARY KEY,
    feed_url        VARCHAR NOT NULL,
    title           VARCHAR,
    summary         VARCHAR,
    published_at    TIMESTAMP,
    guid            VARCHAR,
    first_seen_at   TIMESTAMP NOT NULL,
    status          VARCHAR NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_error      VARCHAR,
    source          VARCHAR
);
CREATE INDEX feed_items_due ON feed_items (status, first_seen_at);

-- The lake's key for articles, which DuckLake cannot enforce: one row per article stored (or being stored)
-- in the lake. A store inserts its articles' urls here first, in a transaction that stays open until the
-- lake has committed them: a second writer of the same url waits on that row, then finds it taken.
CREATE TABLE lake_articles (
    url       VARCHAR PRIMARY KEY,
    stored_at TIMESTAMP NOT NULL
);

CREATE TABLE news_links (
    link          VARCHAR PRIMARY KEY,
    publisher_url VARCHAR,
    error         VARCHAR,
    resolved_at   TIMESTAMP NOT NULL
);

CREATE SEQUENCE alert_ids START 1;

CREATE TABLE alerts (
    id              BIGINT PRIMARY KEY DEFAULT nextval('alert_ids'),
    kind            VARCHAR NOT NULL,
    value           VARCHAR NOT NULL,
    article_url     VARCHAR NOT NULL,
    evidence        VARCHAR,
    detail          JSON,
    created_at      TIMESTAMP NOT NULL,
    status          VARCHAR NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    last_error      VARCHAR,
    delivered_to    VARCHAR[],
    sent_at         TIMESTAMP,
    run_id          VARCHAR,
    UNIQUE (kind, value)
);

CREATE TABLE runs (
    run_id        VARCHAR PRIMARY KEY,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP,
    status        VARCHAR NOT NULL DEFAULT 'running',
    feeds_polled  INTEGER,
    feeds_failed  INTEGER,
    articles_new  INTEGER,
    relevant_new  INTEGER,
    facts_new     INTEGER,
    alerts_new    INTEGER,
    alerts_sent   INTEGER,
    alerts_failed INTEGER
);

CREATE TABLE destinations (
    destination      VARCHAR PRIMARY KEY,
    state            VARCHAR NOT NULL DEFAULT 'ok',
    failing_since    TIMESTAMP,
    failed_attempts  INTEGER NOT NULL DEFAULT 0,
    last_error       VARCHAR,
    last_attempt_at  TIMESTAMP,
    last_ok_at       TIMESTAMP,
    reported_at      TIMESTAMP
);

CREATE TABLE alert_failures (
    alert_id    BIGINT NOT NULL,
    destination VARCHAR NOT NULL,
    error       VARCHAR NOT NULL,
    failed_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (alert_id, destination)
);
