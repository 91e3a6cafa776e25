-- Monitoring: stations, readings, alarms, and the log of refused packets.
CREATE TABLE stations (
    mn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    st TEXT NOT NULL,
    password TEXT NOT NULL,
    crc_mode TEXT NOT NULL DEFAULT 'standard',
    unit_id TEXT NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    config TEXT NOT NULL,
    last_seen BIGINT,
    last_class TEXT,
    created_at BIGINT NOT NULL
);
-- Readings are measurements, not the case trail: retention may delete old ones.
CREATE TABLE readings (
    mn TEXT NOT NULL,
    factor TEXT NOT NULL,
    kind TEXT NOT NULL,
    at BIGINT NOT NULL,
    value DOUBLE PRECISION,
    flag TEXT,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (mn, kind, at, factor)
);
CREATE TABLE alarms (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mn TEXT NOT NULL,
    problem TEXT NOT NULL,
    case_id TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    recovered_at BIGINT,
    summary TEXT NOT NULL
);
-- At most one open alarm (and so one case) per station and problem.
CREATE UNIQUE INDEX alarms_one_open ON alarms(mn, problem) WHERE recovered_at IS NULL;
CREATE TABLE ingest_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    peer TEXT NOT NULL,
    mn TEXT,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL
);
