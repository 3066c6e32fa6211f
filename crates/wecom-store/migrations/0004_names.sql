-- 0004_names.sql: names for the rooms and people of the archive, the archive scope (permit list)
-- and consent (agree/disagree of external contacts).
--
-- The ids come from the stored messages (from_id, tolist, roomid): discover_names scans the
-- messages once, in storage order, and adds one pending entry per new id. A resolver then checks
-- each entry when it is due (next_check_ms, chosen by the caller) and records what it found.
-- States: pending → named | unresolvable | failed; a failure never unnames a room or person.
--
-- Nothing here is read or written by commit_page: the message tables gain no column and no index,
-- so syncing costs the same as before. Booleans are 0/1.

-- One row per roomid seen in the messages (or recorded by the resolver).
CREATE TABLE rooms (
    corp_id        TEXT    NOT NULL,
    roomid         TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('pending', 'named', 'unresolvable', 'failed')),
    kind           TEXT    CHECK (kind IN ('internal', 'customer')),  -- set once an API answered
    name           TEXT,              -- the current name; kept when a later check fails
    owner          TEXT    NOT NULL,  -- owner (customer groups) or creator (internal groups)
    created_at     INTEGER,           -- UTC seconds, as the API reports it
    notice         TEXT    NOT NULL,
    member_count   INTEGER NOT NULL,
    errcode        INTEGER,           -- of the last check that did not name the room
    error          TEXT,
    attempts       INTEGER NOT NULL,  -- consecutive checks that did not name it
    -- Set by discover_names when a scanned message of the room has an external sender or
    -- recipient: the consent check of rooms then needs no scan of every room message.
    has_external   INTEGER NOT NULL DEFAULT 0,
    first_seen_ms  INTEGER NOT NULL,
    checked_at_ms  INTEGER,           -- NULL until the first check
    next_check_ms  INTEGER NOT NULL,
    PRIMARY KEY (corp_id, roomid)
) STRICT;

-- due_rooms reads the never-checked rooms, then the others, each in due order: one partial index
-- per half, so neither needs a sort of everything that is due.
CREATE INDEX rooms_due_new ON rooms (corp_id, next_check_ms, roomid) WHERE checked_at_ms IS NULL;
CREATE INDEX rooms_due_checked ON rooms (corp_id, next_check_ms, roomid)
    WHERE checked_at_ms IS NOT NULL;

-- rooms() lists named rooms by name, then the others, by roomid: read in that order from here.
CREATE INDEX rooms_listing ON rooms (corp_id, nullif(name, '') IS NULL, nullif(name, ''), roomid);

-- The members of a room as the last successful check reported them (replaced as a whole).
CREATE TABLE room_members (
    corp_id        TEXT    NOT NULL,
    roomid         TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('internal', 'external', 'robot')),
    join_time      INTEGER,           -- UTC seconds
    join_scene     INTEGER,           -- customer groups: 1 direct, 2 link, 3 QR code
    inviter        TEXT,
    group_nickname TEXT    NOT NULL,  -- the member's nickname in this room ('' = none)
    name           TEXT    NOT NULL,  -- the member's name as the room API reported it ('' = none)
    is_admin       INTEGER NOT NULL,
    PRIMARY KEY (corp_id, roomid, id)
) STRICT;

-- The consent check finds the rooms with an external member on record.
CREATE INDEX room_members_kind ON room_members (corp_id, kind, roomid);

-- Every name a room had, appended when a successful check finds a name other than the newest one;
-- id gives the order they were recorded in.
CREATE TABLE room_names (
    id             INTEGER PRIMARY KEY,
    corp_id        TEXT    NOT NULL,
    roomid         TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    observed_at_ms INTEGER NOT NULL
) STRICT;

CREATE INDEX room_names_room ON room_names (corp_id, roomid, id);

-- One row per person (or robot) id seen in from_id or a tolist (or recorded by the resolver).
-- An id that is also a roomid is a room, never a person.
CREATE TABLE people (
    corp_id        TEXT    NOT NULL,
    id             TEXT    NOT NULL,
    kind           TEXT    NOT NULL CHECK (kind IN ('internal', 'external', 'robot')),  -- by shape
    state          TEXT    NOT NULL CHECK (state IN ('pending', 'named', 'unresolvable', 'failed')),
    name           TEXT,
    corp_name      TEXT    NOT NULL,  -- external contacts of another corp: that corp's name
    position       TEXT    NOT NULL,
    external_type  INTEGER,           -- external contacts: 1 WeChat user, 2 WeCom user
    creator        TEXT    NOT NULL,  -- robots: who created it
    errcode        INTEGER,
    error          TEXT,
    attempts       INTEGER NOT NULL,
    first_seen_ms  INTEGER NOT NULL,
    checked_at_ms  INTEGER,
    next_check_ms  INTEGER NOT NULL,
    PRIMARY KEY (corp_id, id)
) STRICT;

-- due_people, as due_rooms.
CREATE INDEX people_due_new ON people (corp_id, next_check_ms, id) WHERE checked_at_ms IS NULL;
CREATE INDEX people_due_checked ON people (corp_id, next_check_ms, id)
    WHERE checked_at_ms IS NOT NULL;

-- people(), as rooms().
CREATE INDEX people_listing ON people (corp_id, nullif(name, '') IS NULL, nullif(name, ''), id);

-- How far discover_names got, per corp: the largest messages rowid it has looked at. The rowid
-- is the storage order (messages are never deleted, so it only grows, and the rowids stay dense:
-- even a VACUUM, which may renumber them, gives every row the number it had); a seq watermark
-- would miss the messages resolve_failures stores late under old seqs.
CREATE TABLE name_discovery (
    corp_id        TEXT    NOT NULL PRIMARY KEY,
    after_rowid    INTEGER NOT NULL
) STRICT;

-- Every userid ever in the archive scope (msgaudit/get_permit_user_list); out of scope ones are
-- kept with their times.
CREATE TABLE permit_users (
    corp_id        TEXT    NOT NULL,
    userid         TEXT    NOT NULL,
    in_scope       INTEGER NOT NULL,  -- in the latest list
    first_seen_ms  INTEGER NOT NULL,  -- the list that added them (again)
    last_seen_ms   INTEGER NOT NULL,  -- the latest list that had them
    PRIMARY KEY (corp_id, userid)
) STRICT;

-- When the permit list was last recorded, per corp.
CREATE TABLE permit_checks (
    corp_id        TEXT    NOT NULL PRIMARY KEY,
    checked_at_ms  INTEGER NOT NULL
) STRICT;

-- Consent subjects: a pair (subject_id = the employee's userid, subject_external = the external
-- contact) or a room (subject_id = the roomid, subject_external = '').

-- When each subject was last checked.
CREATE TABLE consent_checks (
    corp_id          TEXT    NOT NULL,
    subject_kind     TEXT    NOT NULL CHECK (subject_kind IN ('pair', 'room')),
    subject_id       TEXT    NOT NULL,
    subject_external TEXT    NOT NULL,
    checked_at_ms    INTEGER NOT NULL,
    PRIMARY KEY (corp_id, subject_kind, subject_id, subject_external)
) STRICT;

-- The consent statuses WeCom reported, one per subject and contact.
CREATE TABLE consents (
    corp_id            TEXT    NOT NULL,
    subject_kind       TEXT    NOT NULL CHECK (subject_kind IN ('pair', 'room')),
    subject_id         TEXT    NOT NULL,
    subject_external   TEXT    NOT NULL,
    external_userid    TEXT    NOT NULL,  -- the contact (for a pair, subject_external)
    status             TEXT    NOT NULL CHECK (status IN ('Agree', 'Disagree')),
    status_change_time INTEGER NOT NULL,  -- UTC seconds
    checked_at_ms      INTEGER NOT NULL,
    PRIMARY KEY (corp_id, subject_kind, subject_id, subject_external, external_userid)
) STRICT;

-- consents(id) looks an id up as the subject (PRIMARY KEY prefix is not enough: the kind comes
-- first), as a pair's contact and as a room's contact.
CREATE INDEX consents_subject_id ON consents (corp_id, subject_id);
CREATE INDEX consents_subject_external ON consents (corp_id, subject_external);
CREATE INDEX consents_contact ON consents (corp_id, external_userid);
