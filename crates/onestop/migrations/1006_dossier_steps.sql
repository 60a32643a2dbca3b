-- The internal process of each dossier, one row per step as it opens (or is passed over).
-- At most one row of a dossier has completed_ms NULL: the open step. Its clock (core
-- DeadlineClock as JSON) stops and restarts with the dossier's legal clock.
CREATE TABLE dossier_steps (
    id @ID@,
    dossier_id BIGINT NOT NULL REFERENCES dossiers(id),
    step_index BIGINT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    started_ms BIGINT NOT NULL,
    due_ms BIGINT,
    clock_json TEXT,
    completed_ms BIGINT,
    completed_by TEXT,
    -- done (completed, also by the action of a later step: a decision completes the review),
    -- stopped (processing ended without a result).
    outcome TEXT,
    late BIGINT NOT NULL DEFAULT 0,
    UNIQUE (dossier_id, step_index)
);
