-- From here an issuer database holds the backend's tables only: the user
-- map, the installation reports and the installations' bindings. The
-- device's tables, empty on an issuer (Open refuses a file whose both
-- halves hold rows), go, and the file is marked as an issuer database
-- (application_id 'VSIS').
DROP TABLE installation_identity;
DROP TABLE report_log;
DROP TABLE endpoints;
DROP TABLE journal_events;
DROP TABLE journal;
DROP TABLE devices;
PRAGMA application_id = 1448298835;
