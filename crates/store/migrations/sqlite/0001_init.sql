-- jiesu schema, SQLite flavour. Keep in step with ../postgres/0001_init.sql.
CREATE TABLE units (
    id TEXT PRIMARY KEY,
    parent_id TEXT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    geometry TEXT,
    sort INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE categories (
    id TEXT PRIMARY KEY,
    parent_id TEXT,
    name TEXT NOT NULL,
    name_en TEXT NOT NULL,
    default_kind TEXT,
    default_unit TEXT
);
CREATE TABLE calendar_years (
    year INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    phone TEXT,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE TABLE grants (
    user_id TEXT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    PRIMARY KEY (user_id, role, unit_id)
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE login_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    at INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    detail TEXT NOT NULL
);

-- The trail. Append-only: the triggers below refuse UPDATE and DELETE.
CREATE TABLE case_events (
    global_seq INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    at INTEGER NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    global_hash TEXT NOT NULL,
    UNIQUE (case_id, seq)
);
CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;

CREATE TABLE chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    global_seq INTEGER NOT NULL,
    global_hash TEXT NOT NULL
);
INSERT INTO chain_head (id, global_seq, global_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TABLE case_numbers (
    day TEXT PRIMARY KEY,
    last INTEGER NOT NULL
);

-- Projection of the trail for reads; rebuildable from case_events.
CREATE TABLE cases (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    urgency TEXT NOT NULL,
    category_id TEXT,
    title TEXT NOT NULL,
    intake_unit TEXT NOT NULL,
    intake_path TEXT NOT NULL,
    assigned_unit TEXT,
    scope_path TEXT NOT NULL,
    waiting_on TEXT,
    is_open INTEGER NOT NULL,
    next_due INTEGER NOT NULL,
    resolve_due INTEGER,
    reporter_user TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    last_hash TEXT NOT NULL,
    idempotency_key TEXT UNIQUE,
    idempotency_fingerprint TEXT,
    doc TEXT NOT NULL
);
CREATE INDEX cases_worklist ON cases(waiting_on, next_due);
CREATE INDEX cases_created ON cases(created_at, id);
-- Only citizens' own cases carry a reporter account; the index skips the rest.
CREATE INDEX cases_reporter ON cases(reporter_user, created_at) WHERE reporter_user IS NOT NULL;
