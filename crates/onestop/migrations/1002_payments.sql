-- Fee payment (nộp phí, lệ phí trực tuyến). The dossier keeps the fee last asked for and when
-- it was paid; each attempt to pay is a row of `payments`.
ALTER TABLE dossiers ADD COLUMN fee_amount BIGINT;
ALTER TABLE dossiers ADD COLUMN fee_paid_ms BIGINT;

-- One row per attempt. `reference` is what the gateway is told (vnp_TxnRef); the gateway's
-- transaction number is unique, so one gateway payment can never settle two attempts.
-- status: pending → paid | failed | cancelled (the gateway's result) | void (the platform
-- withdrew it: superseded, or the dossier left awaiting_payment); a payment that still
-- arrives for a void attempt, or after the dossier moved on, is paid_unapplied (to refund).
CREATE TABLE payments (
    id @ID@,
    dossier_id BIGINT NOT NULL REFERENCES dossiers(id),
    reference TEXT NOT NULL UNIQUE,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL,
    gateway_transaction TEXT,
    response_code TEXT,
    started_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    paid_ms BIGINT,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX payments_dossier ON payments (dossier_id, id);
-- Gateways number cancelled and failed results 0: only money taken must be unique.
CREATE UNIQUE INDEX payments_gateway_transaction ON payments (gateway_transaction) WHERE status IN ('paid', 'paid_unapplied');
-- At most one attempt per dossier is open: a double click or the back button cannot start
-- two charges, even when the requests race.
CREATE UNIQUE INDEX payments_one_pending ON payments (dossier_id) WHERE status = 'pending';
