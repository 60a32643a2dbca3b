-- Documents on the server (issue 5): PDF signatures verified per file, server-side signing
-- recorded on the outgoing document, in-app notices for officials, and the work file's
-- closing and hand-over to the archive.

-- What verifying a stored PDF found (verify_pdf against `signing.trust_anchors` at
-- `checked_at_ms`): `status` is `valid`, `invalid` (with `problem`, the first problem's
-- stable code), `untrusted` or `unsigned`; `signatures` the per-signature details as JSON.
CREATE TABLE doc_file_signatures (
    file_id BIGINT PRIMARY KEY REFERENCES doc_files(id),
    status TEXT NOT NULL,
    problem TEXT NOT NULL DEFAULT '',
    signatures TEXT NOT NULL,
    checked_at_ms BIGINT NOT NULL,
    verified_ms BIGINT NOT NULL
);

-- The certificate the server signed with (subject, serial) and the signing time.
ALTER TABLE doc_outgoing ADD COLUMN signer_subject TEXT;
ALTER TABLE doc_outgoing ADD COLUMN signer_serial TEXT;
ALTER TABLE doc_outgoing ADD COLUMN signature_ms BIGINT;
ALTER TABLE doc_outgoing ADD COLUMN signed_on_server BIGINT NOT NULL DEFAULT 0;

-- An in-app notice to one official (the platform has none for officials): `kind` is
-- `arrival` (a document entered an incoming register of the official's agency); the UI
-- translates the kind, `subject` is the document's own text.
CREATE TABLE doc_notices (
    id @ID@,
    user_id BIGINT NOT NULL REFERENCES users(id),
    kind TEXT NOT NULL,
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    object_type TEXT NOT NULL,
    object_id BIGINT NOT NULL,
    subject TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    read_ms BIGINT,
    UNIQUE (user_id, kind, object_type, object_id)
);
CREATE INDEX doc_notices_user ON doc_notices (user_id, id);

-- A work file is closed when its matter is finished and handed to the archive (nộp lưu)
-- afterwards; closed for more than 30 days and not handed over = due for archiving.
ALTER TABLE doc_work_files ADD COLUMN closed_ms BIGINT;
ALTER TABLE doc_work_files ADD COLUMN archived_ms BIGINT;
CREATE INDEX doc_work_files_closed ON doc_work_files (agency_id, closed_ms);
