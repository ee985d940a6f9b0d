-- The audit's covering indexes of migration 0007 go: reports_audit stored
-- every report's audit record a second time (10^6 reports: 266 MB beside
-- the table's 225 MB) and made each report write, on the issuer's hot path,
-- 1.3-1.55 times as slow; user_map_audit repeated the user map. The audit
-- reads the tables again (EachReportRecord), at about the rate of the
-- sqlite3 tool selecting the same columns of the same join (BENCHMARKS.md).
-- Dropping an index loses no row.
DROP INDEX IF EXISTS reports_audit;
DROP INDEX IF EXISTS user_map_audit;
