-- 0007_conversation_summaries.sql: the conversation list without reading every message.
--
-- Listing conversations used to group every message of the corp (tens of milliseconds at 100,000
-- messages, and it grows with the archive). These summaries are kept in the transaction that stores
-- each message (and by the upgrade that derives old ones), so the list reads one row per
-- conversation shown and its top senders from an index.
CREATE TABLE conversations (
    corp_id        TEXT    NOT NULL,
    conversation   TEXT    NOT NULL,
    messages       INTEGER NOT NULL,
    first_msgtime  INTEGER NOT NULL,
    last_msgtime   INTEGER NOT NULL,
    PRIMARY KEY (corp_id, conversation)
) STRICT;
CREATE INDEX conversations_recent ON conversations (corp_id, last_msgtime DESC, conversation);
INSERT INTO conversations (corp_id, conversation, messages, first_msgtime, last_msgtime)
    SELECT corp_id, conversation, count(*), min(msgtime), max(msgtime) FROM messages
    WHERE conversation IS NOT NULL GROUP BY corp_id, conversation;

CREATE TABLE conversation_senders (
    corp_id        TEXT    NOT NULL,
    conversation   TEXT    NOT NULL,
    from_id        TEXT    NOT NULL,
    messages       INTEGER NOT NULL,
    PRIMARY KEY (corp_id, conversation, from_id)
) STRICT;
CREATE INDEX conversation_senders_top
    ON conversation_senders (corp_id, conversation, messages DESC, from_id);
INSERT INTO conversation_senders (corp_id, conversation, from_id, messages)
    SELECT corp_id, conversation, from_id, count(*) FROM messages
    WHERE conversation IS NOT NULL GROUP BY corp_id, conversation, from_id;
