-- What the console's case lists filter on, each with an index that also gives the newest-first order:
-- the smallest unit whose area holds the case's location (street, community or grid; NULL when it
-- has no location or lies outside every area) and the reporter's number, for staff allowed to look
-- a caller up by it.
ALTER TABLE cases ADD COLUMN place_path TEXT;
ALTER TABLE cases ADD COLUMN reporter_phone TEXT;
UPDATE cases SET reporter_phone = (doc::jsonb -> 'draft' -> 'reporter' ->> 'phone');
CREATE INDEX cases_state_created ON cases(state, created_at);
CREATE INDEX cases_category_created ON cases(category_id, created_at);
CREATE INDEX cases_channel_created ON cases(channel, created_at);
CREATE INDEX cases_place_created ON cases(place_path text_pattern_ops, created_at);
CREATE INDEX cases_phone ON cases(reporter_phone) WHERE reporter_phone IS NOT NULL;
CREATE INDEX cases_overdue ON cases(resolve_due) WHERE is_open = 1;
