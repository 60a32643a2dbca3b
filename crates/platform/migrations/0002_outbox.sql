-- Transactional outbox: messages (e-mail, SMS) enqueued in the same transaction as the state
-- change that causes them, delivered at least once by the worker (platform::outbox).
-- The idempotency key is unique: enqueuing it again is a no-op, and the notifier passes it to
-- the receiving side (SMTP Message-ID, SMS gateway field, file-sink file name) so a
-- re-delivery after a crash can be recognised there.
CREATE TABLE outbox (
    id @ID@,
    topic TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    payload_json TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    delivered_ms BIGINT,
    dead_ms BIGINT,
    last_error TEXT,
    claimed_until_ms BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX outbox_due ON outbox (next_attempt_ms) WHERE delivered_ms IS NULL AND dead_ms IS NULL;
