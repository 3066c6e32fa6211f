-- 0002_message_model.sql: what the archive knows about each message beyond its envelope — the
-- conversation, the identity flags, recall and quote links, the searchable text and the parse
-- warnings — as columns to list, page and count by.
--
-- Every column is NULL-able because rows stored before this migration have no value yet:
-- `conversation IS NULL` means "not derived yet". Right after applying this file the store derives
-- those rows again from their kept `json` (src/sqlite/derive.rs), in batches, so such rows only
-- exist while an archive is being upgraded. Booleans are 0/1.
--
-- ALTER TABLE can only append, so these columns follow json and plaintext in each row. The bulk
-- reads that need them (listings, counts, link lookups) are served by the indexes below; the
-- others read json as well anyway.

ALTER TABLE messages ADD COLUMN conversation   TEXT;     -- the ConversationKey string: room:…, pair:a|b, …
ALTER TABLE messages ADD COLUMN is_group       INTEGER;
ALTER TABLE messages ADD COLUMN external       INTEGER;  -- the msgid ends with _external
ALTER TABLE messages ADD COLUMN updown_stream  INTEGER;  -- the msgid ends with _updown_stream
ALTER TABLE messages ADD COLUMN recall_of      TEXT;     -- recall records: the msgid they recall
ALTER TABLE messages ADD COLUMN recalled_by    TEXT;     -- the msgid of the recall record that recalled this message
ALTER TABLE messages ADD COLUMN recalled_at_ms INTEGER;  -- that recall record's msgtime
ALTER TABLE messages ADD COLUMN quote_user     TEXT;     -- quoted replies: the quote's parts
ALTER TABLE messages ADD COLUMN quote_text     TEXT;
ALTER TABLE messages ADD COLUMN quote_reply    TEXT;
ALTER TABLE messages ADD COLUMN quote_of       TEXT;     -- the msgid of the quoted message, when found
ALTER TABLE messages ADD COLUMN text           TEXT;     -- searchable text
ALTER TABLE messages ADD COLUMN warnings       TEXT;     -- JSON array of strings; NULL when there are none

-- Paging through a conversation in (msgtime, seq) order, and the quote lookup. from_id comes last
-- so conversation listings and their senders are read from this index alone.
CREATE INDEX messages_conversation ON messages (corp_id, conversation, msgtime, seq, from_id);

-- A message stored after its recall record finds the (first) recall here. Partial indexes stay as
-- small as what they hold and cost nothing for the rows they leave out.
CREATE INDEX messages_recall_of ON messages (corp_id, recall_of, msgtime, seq)
    WHERE recall_of IS NOT NULL;
-- Counting recalled messages reads this index alone; counting warned messages reads their rows too
-- (few, and their warnings are too long to copy into an index).
CREATE INDEX messages_recalled ON messages (corp_id, recalled_by) WHERE recalled_by IS NOT NULL;
CREATE INDEX messages_with_warnings ON messages (corp_id) WHERE warnings IS NOT NULL;

-- The rows still to derive, oldest first (a quoted reply looks back in time): empty once an
-- archive is upgraded, so checking it on every open costs nothing.
CREATE INDEX messages_underived ON messages (corp_id, msgtime) WHERE conversation IS NULL;
