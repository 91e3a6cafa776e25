-- One row per uploaded sample (a station's factors at one data time) instead of one per factor:
-- a 9-factor upload is one B-tree insert, not nine. `readings` lists the factors as
-- `code,value,flag` joined by `;` (HJ 212 codes and flags never contain either separator).
-- `part` is the PNO of a split upload (1 when not split), so the parts of one sample never
-- overwrite each other.
CREATE TABLE samples (
    mn TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    part INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    readings TEXT NOT NULL,
    PRIMARY KEY (mn, kind, at, part)
) WITHOUT ROWID;
INSERT INTO samples (mn, kind, at, part, received_at, readings)
SELECT mn, kind, at, 1, MAX(received_at),
       group_concat(factor || ',' || COALESCE(CAST(value AS TEXT), '') || ',' || COALESCE(flag, ''), ';')
FROM readings GROUP BY mn, kind, at;
DROP TABLE readings;
