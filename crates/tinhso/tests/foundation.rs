//! HTTP-level scenarios of the platform foundation. One test binary; every scenario runs on
//! SQLite and on PostgreSQL (a fresh, uniquely named database per test).

mod foundation {
    mod access;
    mod forms;
    mod oidc;
    mod onestop;
    mod scenarios;
    pub mod support;
}
