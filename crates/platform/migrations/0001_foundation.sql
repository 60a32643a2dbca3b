-- Foundation schema. Written once in portable SQL; the runner replaces @ID@ (auto-increment
-- primary key) and @BYTES@ (binary) per dialect. Instants are BIGINT milliseconds since the
-- Unix epoch (UTC); calendar dates are TEXT 'YYYY-MM-DD'; flags are BIGINT 0/1, so the same
-- statements and row decoding serve SQLite and PostgreSQL.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE admin_unit_eras (
    name TEXT PRIMARY KEY,
    valid_from TEXT NOT NULL,
    valid_to TEXT
);

CREATE TABLE admin_units (
    era TEXT NOT NULL REFERENCES admin_unit_eras(name),
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    level TEXT NOT NULL,
    parent_code TEXT,
    PRIMARY KEY (era, code)
);
CREATE INDEX admin_units_parent ON admin_units (era, parent_code);

CREATE TABLE agencies (
    id @ID@,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    short_name TEXT NOT NULL DEFAULT '',
    parent_id BIGINT REFERENCES agencies(id),
    path TEXT NOT NULL,
    level TEXT NOT NULL DEFAULT 'province',
    unit_era TEXT,
    unit_code TEXT,
    merged_into BIGINT REFERENCES agencies(id),
    active BIGINT NOT NULL DEFAULT 1,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX agencies_path ON agencies (path);

-- Identifiers an agency used before a rename or merger, so old records still resolve.
CREATE TABLE agency_aliases (
    code TEXT PRIMARY KEY,
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    former_name TEXT NOT NULL,
    valid_until_ms BIGINT NOT NULL,
    reason TEXT NOT NULL
);

CREATE TABLE agency_units (
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    unit_era TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    PRIMARY KEY (agency_id, unit_era, unit_code)
);

CREATE TABLE departments (
    id @ID@,
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    name TEXT NOT NULL,
    UNIQUE (agency_id, name)
);

CREATE TABLE positions (
    id @ID@,
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    name TEXT NOT NULL,
    UNIQUE (agency_id, name)
);

CREATE TABLE users (
    id @ID@,
    kind TEXT NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    personal_id TEXT UNIQUE,
    tax_code TEXT UNIQUE,
    email TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    agency_id BIGINT REFERENCES agencies(id),
    department_id BIGINT REFERENCES departments(id),
    position_id BIGINT REFERENCES positions(id),
    password_hash TEXT,
    must_change_password BIGINT NOT NULL DEFAULT 0,
    totp_secret TEXT,
    totp_enabled BIGINT NOT NULL DEFAULT 0,
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until_ms BIGINT NOT NULL DEFAULT 0,
    oidc_issuer TEXT,
    oidc_subject TEXT,
    disabled BIGINT NOT NULL DEFAULT 0,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    UNIQUE (oidc_issuer, oidc_subject)
);
CREATE INDEX users_agency ON users (agency_id);

CREATE TABLE role_grants (
    id @ID@,
    user_id BIGINT NOT NULL REFERENCES users(id),
    role TEXT NOT NULL,
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    granted_by TEXT NOT NULL,
    granted_ms BIGINT NOT NULL,
    UNIQUE (user_id, role, agency_id)
);

-- Only the SHA-256 of a session token is stored: a database leak does not leak sessions.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    second_factor_done BIGINT NOT NULL DEFAULT 0,
    source_addr TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id @ID@,
    token_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    scopes TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    revoked BIGINT NOT NULL DEFAULT 0,
    last_used_ms BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    before_digest TEXT NOT NULL,
    after_digest TEXT NOT NULL,
    request_id TEXT NOT NULL,
    source_addr TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_object ON audit_log (object_type, object_id);

-- One row: the tip of the chain. Writers lock it, which orders the chain; verify compares
-- the last record against it, which detects records cut off the end.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY,
    last_seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, last_seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Calendar data an administrator edits: JSON documents of the core calendar types.
CREATE TABLE calendar_rules (
    id BIGINT PRIMARY KEY,
    rules_json TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE TABLE calendar_schedules (
    year BIGINT PRIMARY KEY,
    schedule_json TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE TABLE agency_office_hours (
    agency_id BIGINT PRIMARY KEY REFERENCES agencies(id),
    hours_json TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);

CREATE TABLE blobs (
    key TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
