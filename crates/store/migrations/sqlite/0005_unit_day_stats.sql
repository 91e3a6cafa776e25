-- Assessment counters (docs/ASSESSMENT.md): one row per unit and Beijing day, one column per
-- assessment::Metric. The writer adds each batch's deltas inside the batch's transaction;
-- `jiesu assessment rebuild` recomputes the table from case_events. Keyed (day, unit_id) so a
-- period is one range scan; columns, not a row per metric, so a month of a county is a few
-- thousand rows summed in one pass.
CREATE TABLE unit_day_stats (
    day INTEGER NOT NULL, -- yyyymmdd
    unit_id TEXT NOT NULL,
    received INTEGER NOT NULL DEFAULT 0,
    responded INTEGER NOT NULL DEFAULT 0,
    rated INTEGER NOT NULL DEFAULT 0,
    resolved INTEGER NOT NULL DEFAULT 0,
    satisfied INTEGER NOT NULL DEFAULT 0,
    basically_satisfied INTEGER NOT NULL DEFAULT 0,
    unsatisfied INTEGER NOT NULL DEFAULT 0,
    unreachable INTEGER NOT NULL DEFAULT 0,
    closed INTEGER NOT NULL DEFAULT 0,
    on_time INTEGER NOT NULL DEFAULT 0,
    returned INTEGER NOT NULL DEFAULT 0,
    extended INTEGER NOT NULL DEFAULT 0,
    reopened INTEGER NOT NULL DEFAULT 0,
    yellow_cards INTEGER NOT NULL DEFAULT 0,
    red_cards INTEGER NOT NULL DEFAULT 0,
    supervised INTEGER NOT NULL DEFAULT 0,
    whistled INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, unit_id)
) WITHOUT ROWID;
