-- The device's side of an installation's identity: the installation ID it
-- reports under (random, 128 bits, generated once unless one was given),
-- the installation key that proves a report comes from it (random, 256 bits,
-- sealed with the database's key like every secret here, never logged; the
-- issuer keeps only its hash), and the sequence of its
-- last report. installation is the local key of the device's SDK state and
-- journal. created_at is Unix nanoseconds (UTC).
CREATE TABLE installation_identity (
	installation    TEXT PRIMARY KEY NOT NULL,
	installation_id TEXT NOT NULL UNIQUE,
	key             BLOB NOT NULL,
	sequence        INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL
) STRICT;
