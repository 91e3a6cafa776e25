-- The deadline clock: the next moment something fires on a case (a warning, a missed deadline,
-- a late-resolution red card), kept with its projection; NULL when nothing is pending, so the
-- index holds only cases the clock must watch.
ALTER TABLE cases ADD COLUMN next_fire BIGINT;
CREATE INDEX cases_next_fire ON cases(next_fire) WHERE next_fire IS NOT NULL;
-- Leases: one node at a time runs a background duty (the clock); the others take over when its
-- lease expires.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
-- A database with no cases yet needs no backfill of next_fire (every write computes it).
INSERT INTO settings (key, value) SELECT 'clock_backfilled', '1' WHERE NOT EXISTS (SELECT 1 FROM cases);
