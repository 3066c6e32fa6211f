-- 0008_accounts.sql: accounts of the HTTP API (users, server-side sessions) and the access audit
-- log.
--
-- Passwords are kept only as PHC strings (Argon2id, made outside the store); a session is kept
-- under the SHA-256 (hex) of its token, never the token, so a copy of the database signs nobody
-- in. The audit log is append-only: triggers abort every UPDATE and DELETE of its rows (no route
-- or command edits or deletes entries), and each entry carries the hash of the previous one, so
-- an edit made around the triggers is found by `audit verify`. Times are Unix ms; booleans 0/1.

CREATE TABLE users (
    id                   INTEGER PRIMARY KEY,
    username             TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    password_hash        TEXT    NOT NULL,  -- a PHC string
    role                 TEXT    NOT NULL CHECK (role IN ('admin', 'auditor', 'reviewer')),
    corps                TEXT    NOT NULL,  -- JSON array of corp ids
    scope_userids        TEXT    NOT NULL,  -- JSON array (reviewers)
    scope_departments    TEXT    NOT NULL,  -- JSON array of department ids (reviewers)
    disabled             INTEGER NOT NULL DEFAULT 0,
    created_at_ms        INTEGER NOT NULL,
    updated_at_ms        INTEGER NOT NULL,
    password_changed_at_ms INTEGER NOT NULL,
    failed_logins        INTEGER NOT NULL DEFAULT 0,  -- consecutive, since the last success
    locked_until_ms      INTEGER                      -- NULL: not locked
) STRICT;

CREATE TABLE sessions (
    token_sha256         TEXT    NOT NULL PRIMARY KEY,  -- hex SHA-256 of the token
    user_id              INTEGER NOT NULL REFERENCES users (id),
    created_at_ms        INTEGER NOT NULL,
    last_seen_ms         INTEGER NOT NULL,
    expires_at_ms        INTEGER NOT NULL,  -- absolute expiry
    address              TEXT    NOT NULL,  -- where it signed in from
    revoked              INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE audit_log (
    seq                  INTEGER PRIMARY KEY,  -- 1, 2, 3, ... in append order
    at_ms                INTEGER NOT NULL,
    username             TEXT    NOT NULL,  -- '' for an unknown user
    address              TEXT    NOT NULL,
    action               TEXT    NOT NULL,
    corp_id              TEXT    NOT NULL,
    target               TEXT    NOT NULL,
    detail               TEXT    NOT NULL,  -- JSON text
    outcome              TEXT    NOT NULL CHECK (outcome IN ('ok', 'denied', 'failed')),
    prev_hash            TEXT    NOT NULL,  -- hash of the entry before (64 zeros for the first)
    hash                 TEXT    NOT NULL   -- sha256(prev_hash, this entry's fields)
) STRICT;

CREATE INDEX audit_log_user ON audit_log (username COLLATE NOCASE, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_at ON audit_log (at_ms, seq);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: no route or command edits or deletes entries');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: no route or command edits or deletes entries');
END;
