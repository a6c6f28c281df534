-- The security review (issue 11) and the domain cut (issue 13).

-- People: disabled accounts keep their history; an identity number (CCCD/CMND, tax code)
-- is matched against the certificate a person is given.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
ALTER TABLE users ADD COLUMN id_number TEXT;

-- The key a person signs with: one of the sources the operator declared (never a path), the
-- certificate it was checked with, and whether its holder proved possession.
CREATE TABLE IF NOT EXISTS signer_keys (
    user_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    source_name TEXT NOT NULL,
    object TEXT NOT NULL,
    cert_sha256 TEXT NOT NULL,
    cert_pem TEXT NOT NULL,
    subject TEXT NOT NULL,
    identity TEXT NOT NULL,
    override_reason TEXT,
    assigned_by TEXT NOT NULL,
    assigned_at BIGINT NOT NULL,
    proven_at BIGINT
);

-- Software keys uploaded as PKCS#12, encrypted under the operator's key-encryption key
-- (AES-256-GCM; the key never lives in the database).
CREATE TABLE IF NOT EXISTS stored_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Failed logins, for throttling per account and per address; lockouts that end.
CREATE TABLE IF NOT EXISTS login_failures (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_username ON login_failures (username, at);
CREATE INDEX IF NOT EXISTS login_failures_address ON login_failures (address, at);
CREATE TABLE IF NOT EXISTS lockouts (
    subject TEXT PRIMARY KEY,
    until_at BIGINT NOT NULL
);

-- Sessions: web or API, with the CSRF token of a web session.
ALTER TABLE sessions ADD COLUMN created_at BIGINT;
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
ALTER TABLE sessions ADD COLUMN csrf TEXT;

-- API clients can be revoked (logout with a client token does it).
ALTER TABLE api_clients ADD COLUMN revoked_at BIGINT;
ALTER TABLE api_clients ADD COLUMN created_at BIGINT;

-- Delegations are bounded, listed and revocable.
ALTER TABLE delegations ADD COLUMN created_at BIGINT;
ALTER TABLE delegations ADD COLUMN revoked_at BIGINT;

-- Idempotency keys are claimed before the work starts (insert first): a concurrent duplicate
-- waits for the first request's answer instead of doing the work again.
ALTER TABLE idempotency ADD COLUMN state TEXT NOT NULL DEFAULT 'done';

-- Lists, inboxes and audit pages are found by the database.
CREATE INDEX IF NOT EXISTS documents_org ON documents (org_id, created_at);
CREATE INDEX IF NOT EXISTS documents_submitter ON documents (submitter_id, created_at);
CREATE INDEX IF NOT EXISTS steps_holder ON steps (org_id, role, signed_by);
CREATE INDEX IF NOT EXISTS steps_assignee ON steps (assignee_id, signed_by);
CREATE INDEX IF NOT EXISTS audit_org ON audit (org_id, seq);
CREATE INDEX IF NOT EXISTS memberships_org ON memberships (org_id, role);
CREATE INDEX IF NOT EXISTS delegations_to ON delegations (to_user, valid_until);
