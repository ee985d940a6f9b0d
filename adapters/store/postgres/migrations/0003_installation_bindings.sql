-- The issuer's side of an installation's identity, as adapters/store/sqlite's
-- migration 0008 (docs/reference/report-schema.md): each installation's
-- binding to the app user whose session first reported it, the SHA-256 of
-- its installation key (NULL: it sent none), the highest report sequence it
-- sent and when its last report arrived; the bindings a rebind replaced;
-- and when the issuer received each report, by its own clock (reports are
-- ordered by it). Times are Unix nanoseconds (UTC).
CREATE TABLE installation_bindings (
	installation_id TEXT COLLATE "C" PRIMARY KEY CHECK (installation_id <> ''),
	app_user_id     TEXT NOT NULL CHECK (app_user_id <> ''),
	key_hash        BYTEA,
	sequence        BIGINT NOT NULL DEFAULT 0,
	bound_at        BIGINT NOT NULL,
	received_at     BIGINT NOT NULL
);

CREATE TABLE installation_binding_history (
	id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	installation_id TEXT COLLATE "C" NOT NULL,
	app_user_id     TEXT NOT NULL,
	bound_at        BIGINT NOT NULL,
	unbound_at      BIGINT NOT NULL
);
CREATE INDEX installation_binding_history_installation ON installation_binding_history (installation_id, id);

ALTER TABLE reports ADD COLUMN received_at BIGINT;
