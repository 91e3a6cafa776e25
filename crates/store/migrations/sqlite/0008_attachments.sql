-- Photos and documents on a case, in the database so every node on one PostgreSQL serves them.
-- Evidence is never edited or removed: the trail names each file by its SHA-256.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    at INTEGER NOT NULL,
    data BLOB NOT NULL,
    thumbnail BLOB
);
CREATE INDEX attachments_case ON attachments(case_id, at);
CREATE TRIGGER attachments_no_update BEFORE UPDATE ON attachments
BEGIN SELECT RAISE(ABORT, 'attachments are append-only'); END;
CREATE TRIGGER attachments_no_delete BEFORE DELETE ON attachments
BEGIN SELECT RAISE(ABORT, 'attachments are append-only'); END;
