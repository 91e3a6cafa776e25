-- The audit log becomes a hash chain like the case log: each entry carries the hash of the one
-- before it and its own, over its fields (store/src/audit.rs), so an edited or removed entry
-- breaks the chain and `jiesu verify` names it. Entries written before this migration keep an
-- empty hash: the chain starts after them.
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_log_action ON audit_log(action, at);
