-- Articles fetched per source and publication day (fetch day when undated), and how many were relevant.
SELECT
    CAST(coalesce(published_at, fetched_at) AS DATE) AS day,
    coalesce(source, '')                              AS source,
    count(*)                                          AS articles,
    count(*) FILTER (WHERE relevant)                  AS relevant
FROM articles
GROUP BY ALL
ORDER BY day, source;
