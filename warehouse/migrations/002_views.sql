-- dealwatch warehouse, schema version 2: views for people (see warehouse/README.md).
-- Views hold no data: they are read from the tables of 001 on every query, so they are always current.
-- The time of a fact is the publication date of the article that states it (its fetch time when the
-- article has no date). Facts exist only for relevant articles that are the first of their story, so
-- `mentions` counts stories, not syndicated copies.

-- Every fact with its article and its time: the base of the three views below.
CREATE VIEW fact_articles AS
SELECT
    f.kind,
    f.value,
    f.evidence,
    f.detail,
    f.article_url,
    a.title,
    a.source,
    a.published_at,
    coalesce(a.published_at, f.found_at) AS seen_at,
    f.found_at
FROM facts f
LEFT JOIN articles a ON a.url = f.article_url
WHERE a.relevant IS NOT false;

-- One row per bidder ever named.
CREATE VIEW bidders AS
SELECT
    value                                                   AS name,
    CAST(min(seen_at) AS DATE)                              AS first_seen,
    CAST(max(seen_at) AS DATE)                              AS last_seen,
    count(DISTINCT article_url)                             AS mentions,
    count(DISTINCT source)                                  AS sources,
    first(evidence ORDER BY seen_at, article_url)           AS first_evidence,
    first(article_url ORDER BY seen_at, article_url)        AS first_article_url
FROM fact_articles
WHERE kind = 'bidder'
GROUP BY value
ORDER BY first_seen, name;

-- One row per deadline date ever named; days_left and status are relative to today (current_date).
CREATE VIEW deadlines AS
SELECT
    TRY_CAST(value AS DATE)                                 AS date,
    first(detail->>'kind' ORDER BY seen_at, article_url)    AS kind,
    TRY_CAST(value AS DATE) - current_date                  AS days_left,
    CASE WHEN TRY_CAST(value AS DATE) < current_date THEN 'past'
         WHEN TRY_CAST(value AS DATE) >= current_date THEN 'upcoming' END AS status,
    CAST(min(seen_at) AS DATE)                              AS first_seen,
    count(DISTINCT article_url)                             AS mentions,
    first(evidence ORDER BY seen_at, article_url)           AS evidence,
    first(article_url ORDER BY seen_at, article_url)        AS first_article_url
FROM fact_articles
WHERE kind = 'deadline'
GROUP BY value
ORDER BY date;

-- Every fact (bidder, deadline, price) in the order the news told it.
CREATE VIEW timeline AS
SELECT
    seen_at,
    published_at,
    kind,
    value,
    evidence,
    title,
    source,
    article_url AS url
FROM fact_articles
ORDER BY seen_at, url, kind, value;
