-- Fee payment (nộp phí, lệ phí trực tuyến). The dossier keeps the fee last asked for and when
-- it was paid; each attempt to pay is a row of `payments`.
ALTER TABLE dossiers ADD COLUMN fee_amount BIGINT;
ALTER TABLE dossiers ADD COLUMN fee_paid_ms BIGINT;

-- One row per attempt. `reference` is what the gateway is told (vnp_TxnRef); the gateway's
-- transaction number is unique, so one gateway payment can never settle two attempts.
-- status: pending → paid | failed | cancelled.
CREATE TABLE payments (
    id @ID@,
    dossier_id BIGINT NOT NULL REFERENCES dossiers(id),
    reference TEXT NOT NULL UNIQUE,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL,
    gateway_transaction TEXT UNIQUE,
    response_code TEXT,
    started_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    paid_ms BIGINT,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX payments_dossier ON payments (dossier_id, id);
-- At most one attempt per dossier is open: a double click or the back button cannot start
-- two charges, even when the requests race.
CREATE UNIQUE INDEX payments_one_pending ON payments (dossier_id) WHERE status = 'pending';
