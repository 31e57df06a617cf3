-- Deadlines still ahead (today included), soonest first, with days left and the sentence that states each.
SELECT date, kind, days_left, first_seen, mentions, evidence, first_article_url
FROM deadlines
WHERE status = 'upcoming'
ORDER BY date;
