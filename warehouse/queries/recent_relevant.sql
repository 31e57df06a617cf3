-- The 20 most recent relevant stories (syndicated copies left out), with the bidders and deadlines each states.
SELECT
    CAST(coalesce(a.published_at, a.fetched_at) AS DATE)                                  AS day,
    a.source,
    a.title,
    string_agg(DISTINCT f.value, ', ' ORDER BY f.value) FILTER (WHERE f.kind = 'bidder')   AS bidders,
    string_agg(DISTINCT f.value, ', ' ORDER BY f.value) FILTER (WHERE f.kind = 'deadline') AS deadlines,
    a.url
FROM articles a
LEFT JOIN facts f ON f.article_url = a.url
WHERE a.relevant AND a.story_url = a.url
GROUP BY a.url, a.published_at, a.fetched_at, a.source, a.title
ORDER BY day DESC, a.url
LIMIT 20;
