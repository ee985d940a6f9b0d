-- The base URLs a device database's SDK installations were first used
-- with, as the real SDK remembers its environment and region: at most one
-- row (id = 1). A launch or device command without URL flags uses them, and
-- one with other URLs is refused unless told to change them.
CREATE TABLE endpoints (
	id         INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
	api_url    TEXT NOT NULL,
	auth_url   TEXT NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
