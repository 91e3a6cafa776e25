-- Expired sessions are deleted hourly; the index keeps that a range scan.
CREATE INDEX sessions_expiry ON sessions(expires_at);
