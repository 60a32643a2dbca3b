//! HTTP-level scenarios of the platform foundation. One test binary; every scenario runs on
//! SQLite and on PostgreSQL (a fresh, uniquely named database per test).

mod foundation {
    mod access;
    mod admin_ui;
    mod citizen_ui;
    mod crash;
    mod documents;
    mod documents_ns30;
    mod documents_server;
    mod documents_ui;
    mod edxml_cli;
    mod exchange;
    mod exchange_mapping;
    mod exchange_national;
    mod forms;
    mod national_portal;
    mod officer_ui;
    mod oidc;
    mod onestop;
    mod payments;
    mod portal_ui;
    mod scenarios;
    mod signing;
    mod steps;
    pub mod support;
}
