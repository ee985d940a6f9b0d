-- The journal names actions in reconcile.FormatAction's stable form
-- ("sign-in:<vital user>", "resolve:<app user>", "sign-out"), keeps the
-- action applied last beside its error, and calls the error column by what
-- it holds: an SDK error name.
ALTER TABLE journal ADD COLUMN last_action TEXT NOT NULL DEFAULT '';
ALTER TABLE journal RENAME COLUMN last_error_class TO last_error;
ALTER TABLE journal_events ADD COLUMN last_action TEXT NOT NULL DEFAULT '';
ALTER TABLE journal_events RENAME COLUMN last_error_class TO last_error;

-- in_flight was written as Action.String(): "sign-in(<user>)",
-- "sign-in(from token source)", "resolve(app user <user>)", "sign-out".
UPDATE journal SET in_flight = CASE
	WHEN in_flight IN ('', 'sign-out') THEN in_flight
	WHEN in_flight = 'sign-in(from token source)' THEN 'sign-in'
	WHEN in_flight LIKE 'resolve(app user %)' THEN 'resolve:' || substr(in_flight, 18, length(in_flight) - 18)
	WHEN instr(in_flight, '(') > 1 AND in_flight LIKE '%)' THEN
		substr(in_flight, 1, instr(in_flight, '(') - 1) || ':' ||
		substr(in_flight, instr(in_flight, '(') + 1, length(in_flight) - instr(in_flight, '(') - 1)
	ELSE '' END;
UPDATE journal_events SET in_flight = CASE
	WHEN in_flight IN ('', 'sign-out') THEN in_flight
	WHEN in_flight = 'sign-in(from token source)' THEN 'sign-in'
	WHEN in_flight LIKE 'resolve(app user %)' THEN 'resolve:' || substr(in_flight, 18, length(in_flight) - 18)
	WHEN instr(in_flight, '(') > 1 AND in_flight LIKE '%)' THEN
		substr(in_flight, 1, instr(in_flight, '(') - 1) || ':' ||
		substr(in_flight, instr(in_flight, '(') + 1, length(in_flight) - instr(in_flight, '(') - 1)
	ELSE '' END;
