-- Messages report 2: the five most active users of each channel (ties by user_id).
--   ferry query --table messages=lake/silver/messages_unique -f configs/messages-top-users.sql
WITH per_user AS (
  SELECT channel, user_id, count(*) AS events
  FROM messages
  GROUP BY channel, user_id
),
ranked AS (
  SELECT channel, user_id, events,
         row_number() OVER (PARTITION BY channel ORDER BY events DESC, user_id) AS rank
  FROM per_user
)
SELECT channel, rank, user_id, events
FROM ranked
WHERE rank <= 5
ORDER BY channel, rank
