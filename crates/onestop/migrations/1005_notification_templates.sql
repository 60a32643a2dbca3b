-- Citizen notification templates edited by an administrator, one row per dossier event. An
-- event without a row uses the shipped text (onestop::domain::notification_templates).
CREATE TABLE notification_templates (
    event TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    sms TEXT NOT NULL,
    updated_ms BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
