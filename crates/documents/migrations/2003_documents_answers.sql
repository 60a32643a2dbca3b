-- A received reply's ResponseFor (issue 5): the outgoing document of this installation that an
-- incoming entry answers, so the sender sees the answer on its own document.
ALTER TABLE doc_incoming ADD COLUMN answers_outgoing_id BIGINT REFERENCES doc_outgoing(id);
