-- The gazetteer (issue 11): named places — streets, communities, roads, alleys, compounds,
-- landmarks, village groups — each tied to the unit that answers for it (a grid, a community, a
-- street). Addresses are read against it to place a case that has no point.
CREATE TABLE places (
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    unit_id TEXT NOT NULL REFERENCES units(id),
    PRIMARY KEY (unit_id, name)
);
