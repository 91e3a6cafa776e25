-- Assessment counters (docs/ASSESSMENT.md): one row per unit and Beijing day, one column per
-- assessment::Metric. The writer adds each batch's deltas inside the batch's transaction;
-- `jiesu assessment rebuild` recomputes the table from case_events. Keyed (day, unit_id) so a
-- period is one range scan; columns, not a row per metric, so a month of a county is a few
-- thousand rows summed in one pass.
CREATE TABLE unit_day_stats (
    day BIGINT NOT NULL, -- yyyymmdd
    unit_id TEXT NOT NULL,
    received BIGINT NOT NULL DEFAULT 0,
    responded BIGINT NOT NULL DEFAULT 0,
    rated BIGINT NOT NULL DEFAULT 0,
    resolved BIGINT NOT NULL DEFAULT 0,
    satisfied BIGINT NOT NULL DEFAULT 0,
    basically_satisfied BIGINT NOT NULL DEFAULT 0,
    unsatisfied BIGINT NOT NULL DEFAULT 0,
    unreachable BIGINT NOT NULL DEFAULT 0,
    closed BIGINT NOT NULL DEFAULT 0,
    on_time BIGINT NOT NULL DEFAULT 0,
    returned BIGINT NOT NULL DEFAULT 0,
    extended BIGINT NOT NULL DEFAULT 0,
    reopened BIGINT NOT NULL DEFAULT 0,
    yellow_cards BIGINT NOT NULL DEFAULT 0,
    red_cards BIGINT NOT NULL DEFAULT 0,
    supervised BIGINT NOT NULL DEFAULT 0,
    whistled BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, unit_id)
);
