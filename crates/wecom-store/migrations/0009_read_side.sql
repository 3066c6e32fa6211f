-- 0009_read_side.sql: what the HTTP API's reads need — who took part in each conversation (a
-- reviewer sees only conversations with someone of their scope), whether a conversation is
-- external, the departments of people, and media objects by content.
--
-- The participants and the external flag are kept in the transaction that stores (or derives)
-- each message, like the summaries of 0007; the rules that decide them (which ids count, which
-- ids are external) are the store's rules in Rust (src/rules.rs), applied to existing rows here
-- where SQL says exactly the same, and by a Rust pass after this migration where it cannot
-- (the external-id shape: see `external_backfill`).

-- The union over a conversation's messages of `from` and every `tolist` id (empty ids skipped).
CREATE TABLE conversation_participants (
    corp_id        TEXT    NOT NULL,
    conversation   TEXT    NOT NULL,
    participant    TEXT    NOT NULL,
    PRIMARY KEY (corp_id, conversation, participant)
) STRICT;
-- The conversations of a person, or of anyone of a reviewer's scope.
CREATE INDEX conversation_participants_by_participant
    ON conversation_participants (corp_id, participant, conversation);
INSERT OR IGNORE INTO conversation_participants (corp_id, conversation, participant)
    SELECT corp_id, conversation, from_id FROM messages
    WHERE conversation IS NOT NULL AND from_id <> ''
    UNION
    SELECT m.corp_id, m.conversation, t.value FROM messages m, json_each(m.tolist) t
    WHERE m.conversation IS NOT NULL AND json_valid(m.tolist) AND t.type = 'text' AND t.value <> '';

-- 1 when any message of the conversation has the `_external` msgid flag (the derived
-- `messages.external`) or any participant is external or a robot by shape.
ALTER TABLE conversations ADD COLUMN external INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET external = 1 WHERE EXISTS (
    SELECT 1 FROM messages m WHERE m.corp_id = conversations.corp_id
    AND m.conversation = conversations.conversation AND m.external = 1);
-- The participant half is decided in Rust (`wecom_model::classify_id`) by the pass that runs
-- after this migration and deletes this row in the transaction that finishes it.
CREATE TABLE external_backfill (
    id          INTEGER PRIMARY KEY CHECK (id = 1)
) STRICT;
INSERT INTO external_backfill (id) VALUES (1);

-- The departments of a person as the directory last reported them: a JSON array of department
-- ids, NULL when unknown (never checked, not an employee, or no department reported).
ALTER TABLE people ADD COLUMN departments TEXT;
-- The same, one row per department, replaced whenever the person is recorded as named.
CREATE TABLE person_departments (
    corp_id        TEXT    NOT NULL,
    department     INTEGER NOT NULL,
    id             TEXT    NOT NULL,
    PRIMARY KEY (corp_id, department, id)
) STRICT;
CREATE INDEX person_departments_person ON person_departments (corp_id, id);

-- Media objects by content: which jobs (and so messages) stored an object.
CREATE INDEX media_jobs_sha256 ON media_jobs (corp_id, sha256) WHERE sha256 IS NOT NULL;
