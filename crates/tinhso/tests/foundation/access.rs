//! Access matrix: every API route × every role (being written).
