-- The alert outbox by kind and status: how many, oldest and newest, the latest error.
SELECT
    kind,
    status,
    count(*)                                             AS alerts,
    min(created_at)                                      AS oldest,
    max(created_at)                                      AS newest,
    max(sent_at)                                         AS last_sent_at,
    max(attempts)                                        AS max_attempts,
    first(last_error ORDER BY created_at DESC, id DESC) FILTER (WHERE last_error IS NOT NULL) AS last_error
FROM alerts
GROUP BY kind, status
ORDER BY kind, status;
