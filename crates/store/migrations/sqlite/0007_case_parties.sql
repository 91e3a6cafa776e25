-- Units taking part in a case besides its holder and its intake unit: co-units and units summoned
-- by a whistle (吹哨报到), and units that held it before. They read the case, so they find it in
-- their lists; `waiting` = 1 while the unit owes a report-in or its part, so it is on the unit's
-- worklist.
CREATE TABLE case_parties (
    case_id TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    path TEXT NOT NULL,
    waiting INTEGER NOT NULL,
    PRIMARY KEY (case_id, unit_id)
);
CREATE INDEX case_parties_unit ON case_parties(unit_id, waiting);
CREATE INDEX case_parties_path ON case_parties(path);
