-- Who may find a case in a list, one row per reader, in newest-first order: every unit at or above
-- a unit that ever took part in it (intake, holders, co-units, summoned units) and, as
-- 'user:<id>', the account that reported it. A list is
-- then one range of this key, already ordered, whatever the scope (see reads.rs). Taking part
-- only grows, so rows are only ever added; the projection writes them with the case. A case's
-- category and channel never change after intake: copied here, a list filtered by them reads
-- nothing but this table.
CREATE TABLE case_readers (
    reader TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    case_id TEXT NOT NULL,
    category_id TEXT,
    channel TEXT NOT NULL,
    PRIMARY KEY (reader, created_at, case_id)
);
INSERT INTO case_readers (reader, created_at, case_id, category_id, channel)
WITH RECURSIVE took_part(case_id, created_at, unit) AS (
    SELECT c.id, c.created_at, j.value
    FROM cases c, jsonb_array_elements_text(COALESCE(c.doc::jsonb -> 'involved_units', '[]'::jsonb)) j(value)
    UNION ALL SELECT id, created_at, intake_unit FROM cases
    UNION ALL SELECT id, created_at, assigned_unit FROM cases WHERE assigned_unit IS NOT NULL
    UNION ALL
    SELECT t.case_id, t.created_at, u.parent_id FROM took_part t JOIN units u ON u.id = t.unit
    WHERE u.parent_id IS NOT NULL
)
SELECT t.unit, t.created_at, t.case_id, c.category_id, c.channel
FROM took_part t JOIN units u ON u.id = t.unit JOIN cases c ON c.id = t.case_id
ON CONFLICT DO NOTHING;
INSERT INTO case_readers (reader, created_at, case_id, category_id, channel)
SELECT 'user:' || reporter_user, created_at, id, category_id, channel FROM cases WHERE reporter_user IS NOT NULL
ON CONFLICT DO NOTHING;
-- The filter indexes carry the case id after the time, so that a list driven by one of them
-- checks the reader and orders its page from the index alone, without touching the rows. Overdue
-- lists read the open states' ranges, which carry the deadline (cases_overdue stays for the
-- reports and the clock, which want the deadline order).
DROP INDEX cases_state_created;
DROP INDEX cases_category_created;
DROP INDEX cases_channel_created;
DROP INDEX cases_place_created;
CREATE INDEX cases_state_created ON cases(state, created_at, id, resolve_due);
CREATE INDEX cases_category_created ON cases(category_id, created_at, id);
CREATE INDEX cases_channel_created ON cases(channel, created_at, id);
CREATE INDEX cases_place_created ON cases(place_path text_pattern_ops, created_at, id);
