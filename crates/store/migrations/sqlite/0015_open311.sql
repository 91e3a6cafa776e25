-- Open311 GeoReport v2 clients (issue 11). An API key belongs to a user who never signs in (an
-- app, a partner platform); only its SHA-256 is kept, and disabling that user refuses its keys at
-- once.
CREATE TABLE open311_keys (
    key_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX open311_keys_user ON open311_keys (user_id);
