-- Document management (quản lý văn bản, Nghị định 30/2020): settings per agency, registers
-- (yearly number series), files, incoming and outgoing documents, their handling and
-- dispatch, work files. File contents live in the content-addressed blob store.

-- The issuer abbreviation an agency's notations carry (`UBND`, `STP`).
CREATE TABLE doc_settings (
    agency_id BIGINT PRIMARY KEY REFERENCES agencies(id),
    issuer_abbreviation TEXT NOT NULL,
    updated_ms BIGINT NOT NULL
);

-- Abbreviations of an agency's drafting units or fields (`VX`, `VP`) for Công văn.
CREATE TABLE doc_units (
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    abbreviation TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (agency_id, abbreviation)
);

-- A register (sổ văn bản): one per agency, year, direction (`in`/`out`) and series
-- (`normal`/`secret`). Its row is the counter of the yearly number series, upserted in the
-- transaction that numbers a document: consecutive, never duplicated.
CREATE TABLE doc_registers (
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    year BIGINT NOT NULL,
    direction TEXT NOT NULL,
    series TEXT NOT NULL,
    last_number BIGINT NOT NULL,
    PRIMARY KEY (agency_id, year, direction, series)
);

-- One stored file (scan, electronic original, draft version, signed PDF).
CREATE TABLE doc_files (
    id @ID@,
    agency_id BIGINT REFERENCES agencies(id),
    uploaded_by TEXT NOT NULL,
    owner_user_id BIGINT REFERENCES users(id),
    blob_key TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    scan_verdict TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE doc_incoming (
    id @ID@,
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    year BIGINT NOT NULL,
    series TEXT NOT NULL,
    arrival_number BIGINT NOT NULL,
    arrival_ms BIGINT NOT NULL,
    -- `paper`, `electronic`, `internal` (from an agency of this installation), `external`.
    source TEXT NOT NULL,
    document_id TEXT,
    type_code TEXT NOT NULL,
    subject TEXT NOT NULL,
    code_number TEXT NOT NULL,
    code_notation TEXT NOT NULL,
    issued_date TEXT,
    organ_id TEXT NOT NULL,
    organ_name TEXT NOT NULL,
    -- The full metadata as given (Phụ lục VI), JSON.
    metadata TEXT NOT NULL,
    urgency BIGINT NOT NULL,
    confidentiality BIGINT NOT NULL,
    status TEXT NOT NULL,
    deadline TEXT,
    direction_note TEXT NOT NULL DEFAULT '',
    assigned_by BIGINT,
    assigned_ms BIGINT,
    done_ms BIGINT,
    done_by BIGINT,
    registered_by TEXT NOT NULL,
    registered_user_id BIGINT,
    from_outgoing_id BIGINT,
    revoked_ms BIGINT,
    UNIQUE (agency_id, year, series, arrival_number)
);
CREATE UNIQUE INDEX doc_incoming_document_id ON doc_incoming (agency_id, document_id);
CREATE INDEX doc_incoming_code ON doc_incoming (agency_id, code_number, code_notation);
CREATE INDEX doc_incoming_list ON doc_incoming (agency_id, year, id);

CREATE TABLE doc_incoming_files (
    incoming_id BIGINT NOT NULL REFERENCES doc_incoming(id),
    file_id BIGINT NOT NULL REFERENCES doc_files(id),
    PRIMARY KEY (incoming_id, file_id)
);

-- Who handles an incoming document: `main`, `co` or `info`; a reassignment retires the
-- earlier rows (active = 0) and keeps them as history.
CREATE TABLE doc_handlers (
    id @ID@,
    incoming_id BIGINT NOT NULL REFERENCES doc_incoming(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    part TEXT NOT NULL,
    assigned_ms BIGINT NOT NULL,
    active BIGINT NOT NULL
);
CREATE INDEX doc_handlers_incoming ON doc_handlers (incoming_id, active);
CREATE INDEX doc_handlers_user ON doc_handlers (user_id, active);

CREATE TABLE doc_progress (
    id @ID@,
    incoming_id BIGINT NOT NULL REFERENCES doc_incoming(id),
    user_id BIGINT,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    note TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX doc_progress_incoming ON doc_progress (incoming_id, id);

CREATE TABLE doc_outgoing (
    id @ID@,
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    status TEXT NOT NULL,
    type_code TEXT NOT NULL,
    subject TEXT NOT NULL,
    unit_abbreviation TEXT NOT NULL DEFAULT '',
    metadata TEXT NOT NULL,
    urgency BIGINT NOT NULL,
    confidentiality BIGINT NOT NULL,
    drafter_id BIGINT NOT NULL REFERENCES users(id),
    created_ms BIGINT NOT NULL,
    current_version BIGINT NOT NULL,
    approved_by BIGINT,
    approved_ms BIGINT,
    signed_file_id BIGINT REFERENCES doc_files(id),
    signed_by BIGINT,
    signed_ms BIGINT,
    year BIGINT,
    series TEXT,
    number BIGINT,
    code_notation TEXT,
    issued_date TEXT,
    document_id TEXT,
    released_ms BIGINT,
    released_by TEXT,
    dispatched_ms BIGINT,
    revoked_ms BIGINT,
    revoke_reason TEXT,
    response_for_incoming_id BIGINT REFERENCES doc_incoming(id),
    UNIQUE (agency_id, year, series, number)
);
CREATE INDEX doc_outgoing_list ON doc_outgoing (agency_id, id);

CREATE TABLE doc_versions (
    outgoing_id BIGINT NOT NULL REFERENCES doc_outgoing(id),
    version BIGINT NOT NULL,
    file_id BIGINT NOT NULL REFERENCES doc_files(id),
    metadata TEXT NOT NULL,
    note TEXT NOT NULL,
    created_by BIGINT,
    created_ms BIGINT NOT NULL,
    PRIMARY KEY (outgoing_id, version)
);

-- The review/approval chain: every step with its comment.
CREATE TABLE doc_reviews (
    id @ID@,
    outgoing_id BIGINT NOT NULL REFERENCES doc_outgoing(id),
    step TEXT NOT NULL,
    user_id BIGINT,
    actor TEXT NOT NULL,
    comment TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX doc_reviews_outgoing ON doc_reviews (outgoing_id, id);

-- One recipient of a released document. Internal: an agency of this installation, whose
-- incoming entry is `incoming_id`. External: an agency identifier the exchange service sends
-- edXML to, with its transport status (INITIAL/PROCESSING/DONE/FAIL) and the last business
-- status code the recipient reported (01–06, 13, 15, 16). Removed recipients keep their
-- row with active = 0 (the exchange sends the update).
CREATE TABLE doc_recipients (
    id @ID@,
    outgoing_id BIGINT NOT NULL REFERENCES doc_outgoing(id),
    kind TEXT NOT NULL,
    organ_id TEXT NOT NULL,
    organ_name TEXT NOT NULL,
    incoming_id BIGINT REFERENCES doc_incoming(id),
    transport_status TEXT,
    business_status TEXT,
    status_ms BIGINT,
    active BIGINT NOT NULL,
    added_ms BIGINT NOT NULL,
    dispatched_ms BIGINT,
    -- What the exchange must send next to an external recipient (edXML BussinessDocType):
    -- `new`, `revoke` or `update` (the recipient list changed).
    package TEXT NOT NULL DEFAULT 'new',
    transport_detail TEXT NOT NULL DEFAULT '',
    UNIQUE (outgoing_id, organ_id)
);
CREATE INDEX doc_recipients_transport ON doc_recipients (kind, transport_status);

CREATE TABLE doc_work_files (
    id @ID@,
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    year BIGINT NOT NULL,
    file_code TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    UNIQUE (file_code)
);

CREATE TABLE doc_work_file_items (
    work_file_id BIGINT NOT NULL REFERENCES doc_work_files(id),
    direction TEXT NOT NULL,
    document_row_id BIGINT NOT NULL,
    added_ms BIGINT NOT NULL,
    PRIMARY KEY (work_file_id, direction, document_row_id)
);
