-- Dossier documents: uploads (scanned before they are stored), the documents attached to a
-- dossier (submitted, supplements, results) and the citizen's document store (kho dữ liệu
-- của công dân). File contents live in the content-addressed blob store; rows hold its key.

-- One uploaded file, owned by its uploader until it is attached to a dossier (attached_ms).
CREATE TABLE uploads (
    id @ID@,
    owner_user_id BIGINT REFERENCES users(id),
    -- `user:42`, `cli`, … (uploads by the platform itself have no owner account).
    uploaded_by TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    -- Detected from the content (magic bytes), never the client's claim.
    content_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    -- `clean` or `not_scanned` (no scanner configured); infected files are never stored.
    scan_verdict TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    attached_ms BIGINT
);
CREATE INDEX uploads_owner_pending ON uploads (owner_user_id, attached_ms);

-- A citizen's own documents, reusable in later filings where a procedure allows it.
CREATE TABLE citizen_documents (
    id @ID@,
    owner_user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    source_dossier_id BIGINT REFERENCES dossiers(id),
    created_ms BIGINT NOT NULL
);
CREATE INDEX citizen_documents_owner ON citizen_documents (owner_user_id, id);

-- Documents of a dossier. A paper document (checked at the counter) has no blob.
CREATE TABLE dossier_documents (
    id @ID@,
    dossier_id BIGINT NOT NULL REFERENCES dossiers(id),
    -- `submitted`, `supplement` or `result`.
    role TEXT NOT NULL,
    -- Index into the procedure version's required documents (submitted documents only).
    requirement_index BIGINT,
    name TEXT NOT NULL,
    -- `upload`, `store` (reused from the citizen's store) or `paper`.
    source TEXT NOT NULL,
    upload_id BIGINT REFERENCES uploads(id),
    citizen_document_id BIGINT REFERENCES citizen_documents(id),
    blob_key TEXT,
    filename TEXT NOT NULL DEFAULT '',
    content_type TEXT,
    size_bytes BIGINT,
    added_by TEXT NOT NULL,
    added_ms BIGINT NOT NULL
);
CREATE INDEX dossier_documents_dossier ON dossier_documents (dossier_id, id);
