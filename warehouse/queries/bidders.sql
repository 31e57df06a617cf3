-- Every bidder named so far: first and last seen, how many articles and sources name it, the first evidence.
SELECT name, first_seen, last_seen, mentions, sources, first_evidence, first_article_url
FROM bidders
ORDER BY first_seen, name;
