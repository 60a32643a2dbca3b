-- Queue tickets of the one-stop counters (số thứ tự). Numbers restart every Vietnam-time day
-- per agency; they come from a counter row upserted in the transaction that inserts the
-- ticket (the dossier-code technique), so they are consecutive and never duplicated.
CREATE TABLE queue_counters (
    agency_code TEXT NOT NULL,
    day TEXT NOT NULL,
    last_number BIGINT NOT NULL,
    -- Bumped by every call of the next number: the row lock orders concurrent calls.
    calls BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (agency_code, day)
);

CREATE TABLE queue_tickets (
    id @ID@,
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    day TEXT NOT NULL,
    number BIGINT NOT NULL,
    taken_ms BIGINT NOT NULL,
    status TEXT NOT NULL,
    called_ms BIGINT,
    desk TEXT,
    called_by TEXT,
    UNIQUE (agency_id, day, number)
);

CREATE INDEX queue_tickets_waiting ON queue_tickets (agency_id, day, status, number);
