-- Photos and documents on a case, in the database so every node on one PostgreSQL serves them.
-- Evidence is never edited or removed: the trail names each file by its SHA-256.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    name TEXT NOT NULL,
    mime TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    uploaded_by TEXT NOT NULL,
    at BIGINT NOT NULL,
    data BYTEA NOT NULL,
    thumbnail BYTEA
);
CREATE INDEX attachments_case ON attachments(case_id, at);
CREATE FUNCTION attachments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'attachments are append-only'; END $$;
CREATE TRIGGER attachments_no_update BEFORE UPDATE OR DELETE ON attachments
FOR EACH ROW EXECUTE FUNCTION attachments_append_only();
