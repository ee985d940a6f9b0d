-- The issuer's side of an installation's identity (docs/reference/report-schema.md).
--
-- installation_bindings binds each installation to the app user whose
-- session first reported it. key_hash is the SHA-256 of the installation key
-- the device sent with its reports, in lower-case hex (NULL: it sent none;
-- not a BLOB, which would mark a sealed value); only a report that
-- carries that key, from the session of the app user now signed in on the
-- installation, rebinds it. sequence is the highest report sequence the
-- installation sent (0: none), received_at when its last report arrived.
-- Times are Unix nanoseconds (UTC).
CREATE TABLE installation_bindings (
	installation_id TEXT PRIMARY KEY NOT NULL,
	app_user_id     TEXT NOT NULL,
	key_hash        TEXT,
	sequence        INTEGER NOT NULL DEFAULT 0,
	bound_at        INTEGER NOT NULL,
	received_at     INTEGER NOT NULL
) STRICT;

-- Every binding a rebind replaced, oldest first.
CREATE TABLE installation_binding_history (
	id              INTEGER PRIMARY KEY,
	installation_id TEXT NOT NULL,
	app_user_id     TEXT NOT NULL,
	bound_at        INTEGER NOT NULL,
	unbound_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX installation_binding_history_installation ON installation_binding_history (installation_id, id);

-- When the issuer received each report, by its own clock: reports are
-- ordered by it, never by the device's reported_at. NULL for reports
-- written before this migration, and for reports loaded directly.
ALTER TABLE reports ADD COLUMN received_at INTEGER;
