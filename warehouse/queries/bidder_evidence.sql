-- Every sentence naming one bidder as a bidder, oldest first (--param BIDDER, case-insensitive).
SELECT
    CAST(seen_at AS DATE) AS day,
    source,
    title,
    evidence,
    article_url AS url
FROM fact_articles
WHERE kind = 'bidder' AND lower(value) = lower($bidder)
ORDER BY seen_at, url;
