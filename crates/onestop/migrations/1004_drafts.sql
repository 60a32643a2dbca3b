-- Online application drafts (issue 4, citizen area): what a citizen typed and chose for one
-- procedure version, saved at every step (also when it fails validation) until it is
-- submitted; then `dossier_code` points at the one dossier it became.

CREATE TABLE citizen_drafts (
    id @ID@,
    owner_user_id BIGINT NOT NULL REFERENCES users(id),
    procedure_code TEXT NOT NULL,
    procedure_version_id BIGINT NOT NULL REFERENCES procedure_versions(id),
    -- The receiving agency chosen (identifier), empty until chosen.
    agency_code TEXT NOT NULL DEFAULT '',
    -- Answers to the form schema, JSON object of strings.
    answers_json TEXT NOT NULL DEFAULT '{}',
    -- One entry per required document chosen: JSON list of {requirement, upload_id | store_document_id, filename}.
    documents_json TEXT NOT NULL DEFAULT '[]',
    -- The last step saved (`1`, `2`, …, `documents`, `review`).
    step TEXT NOT NULL DEFAULT '',
    dossier_code TEXT,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    submitted_ms BIGINT
);
-- At most one open draft per citizen and procedure version.
CREATE UNIQUE INDEX citizen_drafts_open ON citizen_drafts (owner_user_id, procedure_version_id) WHERE dossier_code IS NULL;
CREATE INDEX citizen_drafts_owner ON citizen_drafts (owner_user_id, id);

-- Answers posted after the session ended, kept briefly under a random token (its SHA-256
-- here, the token in an HttpOnly cookie) and merged into the draft after the next login.
CREATE TABLE citizen_pending_answers (
    id @ID@,
    token_sha256 TEXT NOT NULL UNIQUE,
    procedure_code TEXT NOT NULL,
    step TEXT NOT NULL,
    answers_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX citizen_pending_expiry ON citizen_pending_answers (expires_ms);
