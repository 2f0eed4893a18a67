-- Messages report 1: events of each type per date and channel, one column per type.
--   ferry query --table messages=lake/silver/messages_unique -f configs/messages-pivot.sql
SELECT date,
       channel,
       SUM(CASE WHEN event_type = 'OPEN' THEN 1 ELSE 0 END) AS open,
       SUM(CASE WHEN event_type = 'RECEIVED' THEN 1 ELSE 0 END) AS received,
       SUM(CASE WHEN event_type = 'SENT' THEN 1 ELSE 0 END) AS sent,
       SUM(CASE WHEN event_type = 'CREATED' THEN 1 ELSE 0 END) AS created,
       SUM(CASE WHEN event_type = 'CLICKED' THEN 1 ELSE 0 END) AS clicked,
       count(*) AS total
FROM messages
GROUP BY date, channel
ORDER BY date, channel
