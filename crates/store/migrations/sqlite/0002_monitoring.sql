-- Monitoring: stations, readings, alarms, and the log of refused packets.
CREATE TABLE stations (
    mn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    st TEXT NOT NULL,
    password TEXT NOT NULL,
    crc_mode TEXT NOT NULL DEFAULT 'standard',
    unit_id TEXT NOT NULL,
    lon REAL,
    lat REAL,
    config TEXT NOT NULL,
    last_seen INTEGER,
    last_class TEXT,
    created_at INTEGER NOT NULL
);
-- Readings are measurements, not the case trail: retention may delete old ones.
CREATE TABLE readings (
    mn TEXT NOT NULL,
    factor TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    value REAL,
    flag TEXT,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (mn, kind, at, factor)
) WITHOUT ROWID; -- clustered on the key: one B-tree write per reading instead of two
CREATE TABLE alarms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mn TEXT NOT NULL,
    problem TEXT NOT NULL,
    case_id TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    recovered_at INTEGER,
    summary TEXT NOT NULL
);
-- At most one open alarm (and so one case) per station and problem.
CREATE UNIQUE INDEX alarms_one_open ON alarms(mn, problem) WHERE recovered_at IS NULL;
CREATE TABLE ingest_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    peer TEXT NOT NULL,
    mn TEXT,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL
);
