-- The legacy (Firebase / GCIP) exchange's public Web API key, which the
-- token record of iOS ≤1.8.1 and Android ≤4.2.0 keeps for its refreshes
-- (reference §10.3). It is public (it ships in the Sign-In Token), so it is
-- not sealed; '' when the record has none.
ALTER TABLE devices ADD COLUMN token_public_key TEXT NOT NULL DEFAULT '';
