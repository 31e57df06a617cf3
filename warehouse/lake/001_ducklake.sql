-- dealwatch lake, version 1, DuckLake side: the articles and their facts, as Parquet files in the data
-- directory (small writes inlined in the catalog until they are flushed). Same columns as the file
-- warehouse's; DuckLake has no PRIMARY KEY or UNIQUE: each article is stored once because its url is
-- claimed in PostgreSQL's lake_articles first (dealwatch/lake.py), and its facts are written by whoever
-- holds that claim. The views (warehouse/migrations/002_views.sql) are created here as they are.

CREATE TABLE articles (
    url             VARCHAR NOT NULL,
    final_url       VARCHAR,
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
    text_source     VARCHAR NOT NULL DEFAULT 'page',
    fetch_error     VARCHAR,
    content_hash    VARCHAR,
    fingerprint     UBIGINT,
    story_url       VARCHAR NOT NULL,
    fetched_at      TIMESTAMP NOT NULL,
    run_id          VARCHAR
);

CREATE TABLE facts (
    article_url   VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,
    value         VARCHAR NOT NULL,
    evidence      VARCHAR,
    detail        JSON,
    found_at      TIMESTAMP NOT NULL,
    run_id        VARCHAR
);
