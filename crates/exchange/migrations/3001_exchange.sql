-- The document exchange (trục liên thông): packages received (for idempotent receive), the
-- log of every exchange in and out that IT staff list, the sending worker's claims, and the
-- business statuses reported back for received documents.

-- One row per package accepted: `dedupe_key` is what makes a package the same one again
-- (`new:` + document id, `revoke:` + document id, `update:` + package key, `status:` + code +
-- document id), `digest` the SHA-256 of its bytes.
CREATE TABLE exchange_received (
    id @ID@,
    from_organ_id TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    document_id TEXT NOT NULL,
    message_type TEXT NOT NULL,
    peer TEXT NOT NULL,
    digest TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    reference TEXT NOT NULL,
    received_ms BIGINT NOT NULL,
    UNIQUE (from_organ_id, dedupe_key)
);

-- Every exchange, in and out, success or failure. `status` is the transport status of the
-- exchange (DONE, FAIL, PROCESSING) and `code` the stable code of a failure.
CREATE TABLE exchange_log (
    id @ID@,
    direction TEXT NOT NULL,
    peer TEXT NOT NULL,
    message_type TEXT NOT NULL,
    from_organ_id TEXT NOT NULL,
    to_organ_ids TEXT NOT NULL,
    document_id TEXT NOT NULL,
    package_key TEXT NOT NULL,
    status TEXT NOT NULL,
    repeat_of BIGINT,
    code TEXT NOT NULL,
    detail TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    digest TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX exchange_log_at ON exchange_log (at_ms);

-- Outbound work: a document package for one external recipient row of the documents system
-- (`recipient_id`), or a status package for a received entry (`incoming_id`). A node claims a
-- row by moving `lease_until_ms` forward; a row whose lease expired is claimed again (the
-- receiver recognises the repeat). `package_key` stays the same over retries.
CREATE TABLE exchange_outbound (
    id @ID@,
    kind TEXT NOT NULL,
    recipient_id BIGINT,
    incoming_id BIGINT,
    status_code TEXT NOT NULL DEFAULT '',
    package TEXT NOT NULL DEFAULT '',
    package_key TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_ms BIGINT NOT NULL,
    UNIQUE (package_key)
);
CREATE INDEX exchange_outbound_due ON exchange_outbound (state, next_attempt_ms);

-- A document received from another exchange, and the last business status reported back to
-- its sender (the status reporter compares it with the entry's current state).
CREATE TABLE exchange_received_documents (
    incoming_id BIGINT PRIMARY KEY,
    received_id BIGINT NOT NULL REFERENCES exchange_received(id),
    to_organ_id TEXT NOT NULL,
    from_organ_id TEXT NOT NULL,
    document_id TEXT NOT NULL,
    response_code TEXT NOT NULL,
    promulgation_date TEXT NOT NULL,
    last_reported TEXT NOT NULL DEFAULT ''
);
