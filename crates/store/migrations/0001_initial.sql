-- The schema as Kyso shipped it before versioned migrations (December 2026). IF NOT EXISTS:
-- a database made by that release already has these tables and upgrades from here.
CREATE TABLE IF NOT EXISTS orgs (
    id TEXT PRIMARY KEY,
    parent_id TEXT,
    level TEXT NOT NULL,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    key_spec TEXT
);
CREATE TABLE IF NOT EXISTS memberships (
    user_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, org_id, role)
);
CREATE TABLE IF NOT EXISTS delegations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    role TEXT NOT NULL,
    from_user TEXT NOT NULL,
    to_user TEXT NOT NULL,
    valid_until BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    org_id TEXT NOT NULL,
    token_sha256 TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS templates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    stages TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    submitter_id TEXT NOT NULL,
    template_id TEXT NOT NULL,
    title TEXT NOT NULL,
    status TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    return_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    document_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    original_sha256 TEXT NOT NULL,
    current_sha256 TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (document_id, version)
);
CREATE TABLE IF NOT EXISTS steps (
    document_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    field TEXT NOT NULL,
    stage BIGINT NOT NULL,
    stage_name TEXT NOT NULL,
    org_id TEXT NOT NULL,
    role TEXT NOT NULL,
    assignee_id TEXT,
    allow_repeat BIGINT NOT NULL,
    deadline BIGINT NOT NULL,
    signed_by TEXT,
    on_behalf_of TEXT,
    signed_at BIGINT,
    PRIMARY KEY (document_id, version, field)
);
CREATE TABLE IF NOT EXISTS idempotency (
    owner TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (owner, idem_key)
);
CREATE TABLE IF NOT EXISTS operations (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    kind TEXT NOT NULL,
    document_ids TEXT NOT NULL,
    state TEXT NOT NULL,
    result TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE TABLE IF NOT EXISTS audit (
    seq BIGINT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    document_id TEXT,
    org_id TEXT,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
