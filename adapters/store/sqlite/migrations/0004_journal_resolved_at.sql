-- When the token source last named the app user's Vital user: a profile
-- that cannot detect a deleted user asks again once an interval has passed.
-- Unix nanoseconds in UTC; NULL when never.
ALTER TABLE journal ADD COLUMN last_resolved_at INTEGER;
ALTER TABLE journal_events ADD COLUMN last_resolved_at INTEGER;
