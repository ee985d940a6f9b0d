-- Reserved: this number belongs to a migration of another change, merged
-- before the reports table's. Replace this file with it.
SELECT 1;
