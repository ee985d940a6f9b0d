-- From here a device database holds the device's tables only: the SDK's
-- state, the journal and its history, the endpoints, the report log and
-- the installation's identity. The backend's tables, empty on a device
-- (Open refuses a file whose both halves hold rows), go, and the file is
-- marked as a device database (application_id 'VSDV').
DROP TABLE installation_binding_history;
DROP TABLE installation_bindings;
DROP TABLE reports;
DROP TABLE user_map;
PRAGMA application_id = 1448297558;
