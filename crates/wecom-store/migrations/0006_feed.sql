-- 0006_feed.sql: the change feed.
--
-- Every stored message gets a per-corp position, strictly increasing in the order messages were
-- stored, written in the transaction that stores the message and never changed or reused
-- (a replay stores nothing; a redecrypted record gets its position when its message first
-- exists). Followers (names discovery, search, rules, export) read "after position P, up to N"
-- and keep their own position with their output, so a crash never makes them skip or repeat
-- work in effect.
ALTER TABLE messages ADD COLUMN feed_pos INTEGER;

-- Existing messages in storage (rowid) order, which is the order they were committed.
WITH numbered AS (
    SELECT rowid AS r, row_number() OVER (PARTITION BY corp_id ORDER BY rowid) AS n
    FROM messages
)
UPDATE messages SET feed_pos = numbered.n FROM numbered WHERE numbered.r = messages.rowid;

CREATE UNIQUE INDEX messages_feed ON messages (corp_id, feed_pos);

-- The last position handed out per corp (positions are never reused, so this is not max()).
CREATE TABLE feed_heads (
    corp_id   TEXT    NOT NULL PRIMARY KEY,
    last_pos  INTEGER NOT NULL
) STRICT;
INSERT INTO feed_heads (corp_id, last_pos)
    SELECT corp_id, max(feed_pos) FROM messages GROUP BY corp_id;

-- How far each follower got, per corp, for followers whose output is in this archive (a follower
-- with output elsewhere, like a search index, keeps its position there).
CREATE TABLE follower_positions (
    corp_id        TEXT    NOT NULL,
    follower       TEXT    NOT NULL,
    pos            INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (corp_id, follower)
) STRICT;

-- Names discovery moves from its rowid watermark onto the feed, keeping its place.
INSERT INTO follower_positions (corp_id, follower, pos, updated_at_ms)
    SELECT d.corp_id, 'names',
           coalesce((SELECT max(m.feed_pos) FROM messages m
                     WHERE m.corp_id = d.corp_id AND m.rowid <= d.after_rowid), 0),
           0
    FROM name_discovery d;
DROP TABLE name_discovery;
