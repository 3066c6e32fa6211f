-- 0005_quarantine.sql: items of a getchatdata page that could not be archived as records.
--
-- An item that does not parse (invalid UTF-8, no msgid, wrong types) or whose seq is implausible
-- (2^63 or more, or a jump beyond [sync] max_seq_jump) is kept here raw, in the same transaction
-- as its page and the cursor, so every item the server sends is stored before anything can fail
-- about it. A quarantined item never moves the cursor.
CREATE TABLE quarantined_items (
    id                INTEGER PRIMARY KEY,
    corp_id           TEXT    NOT NULL,
    seq               INTEGER,           -- the item's seq when readable (u64 as i64 bits)
    kind              TEXT    NOT NULL,  -- unparseable | implausible_seq | seq_jump
    reason            TEXT    NOT NULL,
    raw               BLOB    NOT NULL,  -- the item's bytes as the server sent them
    cursor_seq        INTEGER NOT NULL,  -- the cursor when it was first seen
    first_seen_at_ms  INTEGER NOT NULL,
    last_seen_at_ms   INTEGER NOT NULL,
    times_seen        INTEGER NOT NULL,
    UNIQUE (corp_id, raw)
) STRICT;

CREATE INDEX quarantined_items_seq ON quarantined_items (corp_id, seq);
