-- Administration (issue 13). A closed unit keeps its history and takes no new cases; a retired
-- category stays on old cases but is offered to no new one; a user whose password was set by
-- someone else (the first admin, a reset) must choose his own before doing anything else.
ALTER TABLE units ADD COLUMN closed_at BIGINT;
ALTER TABLE categories ADD COLUMN retired_at BIGINT;
ALTER TABLE users ADD COLUMN must_change_password BIGINT NOT NULL DEFAULT 0;
-- Nodes follow administrative changes made on other nodes by reading the audit log past the
-- last entry they saw (by id), filtered by action.
CREATE INDEX audit_log_id_action ON audit_log(id, action);
