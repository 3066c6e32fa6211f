-- 0003_media.sql: the media download queue — one job per media reference of a stored message
-- (nested chatrecord/mixed items included), created in the same transaction as the message — and
-- the objects the workers stored.
--
-- States: pending → downloading → done | failed_retryable (due again at next_attempt_at_ms)
-- | failed_permanent (until an operator retries) | expired. A job left downloading by a crash is
-- put back to pending when the workers start again.

CREATE TABLE media_jobs (
    id                 INTEGER PRIMARY KEY,
    corp_id            TEXT    NOT NULL,
    msgid              TEXT    NOT NULL,
    path               TEXT    NOT NULL,  -- where in the message: image, chatrecord.item[2], …
    sdkfileid          TEXT    NOT NULL,
    kind               TEXT    NOT NULL,  -- image | voice | video | emotion | file | meeting_voice_call | voip_doc_share | unknown
    extension          TEXT    NOT NULL,  -- without the dot; may be empty
    md5_expected       TEXT    NOT NULL,  -- the md5sum as sent; '' = none (not checked)
    size_expected      INTEGER,           -- the message's size field, when it has one
    msgtime_ms         INTEGER NOT NULL,  -- the message's time: the deadline basis
    state              TEXT    NOT NULL CHECK (state IN ('pending', 'downloading', 'done',
                                   'failed_retryable', 'failed_permanent', 'expired')),
    attempts           INTEGER NOT NULL,  -- attempts that ended with a result
    md5_mismatches     INTEGER NOT NULL,  -- whole downloads that did not match the message
    error_code         TEXT,              -- md5_mismatch, disk_full, expired, …
    last_error         TEXT,              -- the last failure, explained
    next_attempt_at_ms INTEGER NOT NULL,
    created_at_ms      INTEGER NOT NULL,
    updated_at_ms      INTEGER NOT NULL,
    sha256             TEXT,              -- the stored object: in objects when done,
    object_area        TEXT,              -- in quarantine after a final mismatch
    UNIQUE (corp_id, msgid, path),
    FOREIGN KEY (corp_id, msgid) REFERENCES messages (corp_id, msgid)
) STRICT;

-- Claims read due jobs oldest message first; expiry reads them by message time.
CREATE INDEX media_jobs_due ON media_jobs (corp_id, msgtime_ms, id)
    WHERE state IN ('pending', 'failed_retryable');
-- Counts per state and per error code; requeueing the jobs a crash left downloading.
CREATE INDEX media_jobs_state ON media_jobs (corp_id, state, error_code);

-- Every object stored for a corp, once per content and area however many messages carry it.
CREATE TABLE media_objects (
    corp_id            TEXT    NOT NULL,
    area               TEXT    NOT NULL CHECK (area IN ('objects', 'quarantine')),
    sha256             TEXT    NOT NULL,
    size               INTEGER NOT NULL,
    md5                TEXT    NOT NULL,  -- as computed
    content_type       TEXT    NOT NULL,  -- sniffed from the magic bytes
    backend            TEXT    NOT NULL,  -- fs | s3
    key                TEXT    NOT NULL,  -- the backend's key
    first_stored_at_ms INTEGER NOT NULL,
    PRIMARY KEY (corp_id, area, sha256)
) STRICT;

-- Messages stored before this migration get their jobs after it (src/sqlite/media.rs), in
-- batches by rowid; this row says how far that got and is deleted when it is done.
CREATE TABLE media_backfill (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    after_rowid INTEGER NOT NULL
) STRICT;
INSERT INTO media_backfill (id, after_rowid) VALUES (1, 0);
