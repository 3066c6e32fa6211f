-- 0001_init.sql: the first archive schema (records, messages, failures, cursors).
--
-- Conventions (see src/sqlite/mod.rs for the reasons):
-- * every table carries corp_id, so one database can hold several corps;
-- * seq is WeCom's u64, stored as the i64 with the same bit pattern: every seq seen in practice reads
--   the same in plain SQL, and values above i64::MAX round-trip instead of failing;
-- * times are Unix milliseconds (UTC) in *_ms columns;
-- * tables are STRICT, so a value of the wrong type is an error instead of silently coerced.

-- Marks the file as ours ('WECA'), so opening another application's SQLite file is refused.
PRAGMA application_id = 1464156993;

-- The encrypted envelope of every record, written before any decryption result, so that a missing or
-- wrong key never loses data: everything else can be recomputed from this table and the keys.
CREATE TABLE records (
    corp_id            TEXT    NOT NULL,
    seq                INTEGER NOT NULL,
    msgid              TEXT    NOT NULL,
    publickey_ver      INTEGER NOT NULL,
    encrypt_random_key TEXT    NOT NULL,
    encrypt_chat_msg   TEXT    NOT NULL,
    fetched_at_ms      INTEGER NOT NULL,
    PRIMARY KEY (corp_id, seq),
    UNIQUE (corp_id, msgid)
) STRICT;

-- Records that decrypted and parsed. A msgid is in at most one of messages and failures.
-- Small, often-read columns come first and the large ones (json, plaintext) last, so scans that only
-- need the former do not touch overflow pages.
CREATE TABLE messages (
    corp_id   TEXT    NOT NULL,
    msgid     TEXT    NOT NULL,
    seq       INTEGER NOT NULL,
    action    TEXT    NOT NULL,
    from_id   TEXT    NOT NULL,
    tolist    TEXT    NOT NULL,  -- JSON array of strings
    roomid    TEXT    NOT NULL,
    msgtime   INTEGER NOT NULL,  -- ms; for switch records the record's `time`
    msgtype   TEXT,              -- NULL for switch records
    json      TEXT    NOT NULL,  -- the envelope's JSON text (control characters escaped)
    plaintext BLOB    NOT NULL,  -- the exact decrypted bytes
    PRIMARY KEY (corp_id, msgid),
    FOREIGN KEY (corp_id, msgid) REFERENCES records (corp_id, msgid)
) STRICT;

CREATE INDEX messages_msgtime ON messages (corp_id, msgtime);
CREATE INDEX messages_msgtype ON messages (corp_id, msgtype);

-- Records that could not be decrypted or parsed yet; retried by resolve_failures.
CREATE TABLE failures (
    corp_id            TEXT    NOT NULL,
    msgid              TEXT    NOT NULL,
    seq                INTEGER NOT NULL,
    stage              TEXT    NOT NULL,  -- no_key | rsa | decrypt_data | json
    code               INTEGER NOT NULL,  -- SDK-style code, e.g. 10007
    reason             TEXT    NOT NULL,
    attempts           INTEGER NOT NULL,
    first_failed_at_ms INTEGER NOT NULL,
    last_failed_at_ms  INTEGER NOT NULL,
    plaintext          BLOB,              -- bytes that decrypted but did not parse
    PRIMARY KEY (corp_id, msgid),
    FOREIGN KEY (corp_id, msgid) REFERENCES records (corp_id, msgid)
) STRICT;

-- failed_records reads oldest seq first.
CREATE INDEX failures_seq ON failures (corp_id, seq);

-- The pull position per corp: the next GetChatData starts after this seq.
CREATE TABLE cursors (
    corp_id       TEXT    NOT NULL PRIMARY KEY,
    seq           INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;
