-- One-stop shop: the procedure catalogue (versioned) and dossiers. Portable SQL, rendered per
-- dialect by the platform's migration runner (@ID@ = auto-increment primary key).

CREATE TABLE procedures (
    id @ID@,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    field_name TEXT NOT NULL,
    levels TEXT NOT NULL,
    current_version BIGINT NOT NULL,
    active BIGINT NOT NULL DEFAULT 1,
    updated_ms BIGINT NOT NULL
);

-- A version is never changed once written: dossiers point at the version they were filed under.
CREATE TABLE procedure_versions (
    id @ID@,
    procedure_id BIGINT NOT NULL REFERENCES procedures(id),
    version BIGINT NOT NULL,
    spec_json TEXT NOT NULL,
    spec_digest TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (procedure_id, version)
);

-- Per receiving agency and Vietnam-time day: the last sequence number handed out. Taken with
-- an upsert in the transaction that inserts the dossier, so numbers are neither duplicated
-- nor skipped, whatever the concurrency.
CREATE TABLE dossier_counters (
    agency_code TEXT NOT NULL,
    day TEXT NOT NULL,
    last_seq BIGINT NOT NULL,
    PRIMARY KEY (agency_code, day)
);

CREATE TABLE dossiers (
    id @ID@,
    code TEXT NOT NULL UNIQUE,
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    -- Where the dossier is being processed after a transfer (liên thông); NULL = at the
    -- receiving agency, which always keeps the counter work (receipt, result return).
    handling_agency_id BIGINT REFERENCES agencies(id),
    procedure_version_id BIGINT NOT NULL REFERENCES procedure_versions(id),
    procedure_code TEXT NOT NULL,
    applicant_user_id BIGINT REFERENCES users(id),
    applicant_name TEXT NOT NULL,
    applicant_id_number TEXT NOT NULL,
    applicant_phone TEXT NOT NULL DEFAULT '',
    applicant_email TEXT NOT NULL DEFAULT '',
    proxy_json TEXT,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    form_json TEXT NOT NULL,
    submitted_ms BIGINT NOT NULL,
    received_ms BIGINT,
    due_ms BIGINT,
    -- The legal clock (core DeadlineClock as JSON): stopped while the citizen supplements or
    -- pays, restarted when they do.
    clock_json TEXT,
    received_by BIGINT REFERENCES users(id),
    -- The new appointment promised in an apology letter when the dossier runs late; the legal
    -- due date (due_ms) is kept beside it and lateness is always counted against it.
    apology_due_ms BIGINT,
    resolved_ms BIGINT,
    resolved_late BIGINT NOT NULL DEFAULT 0,
    closed_ms BIGINT,
    result_method TEXT,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX dossiers_agency_status ON dossiers (agency_id, status);
CREATE INDEX dossiers_applicant ON dossiers (applicant_user_id);

CREATE TABLE dossier_events (
    id @ID@,
    dossier_id BIGINT NOT NULL REFERENCES dossiers(id),
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    due_ms BIGINT
);
CREATE INDEX dossier_events_dossier ON dossier_events (dossier_id, id);

-- One rating per dossier, by its applicant, after the result (three levels as the national
-- statistics count them: 1 very satisfied, 2 satisfied, 3 not satisfied).
CREATE TABLE dossier_ratings (
    dossier_id BIGINT PRIMARY KEY REFERENCES dossiers(id),
    level BIGINT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    user_id BIGINT NOT NULL REFERENCES users(id),
    rated_ms BIGINT NOT NULL
);
