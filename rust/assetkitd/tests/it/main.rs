//! assetkitd integration tests: the real server on 127.0.0.1:0 with a temp SQLite file.
#![allow(clippy::too_many_lines)] // a test reads top to bottom as one story

mod admin;
mod apply;
mod backup;
mod budgets;
mod contract;
mod credentials;
mod dashboard;
mod durability;
mod enrolment_replay;
mod exports;
mod guests;
mod hardening;
mod hardware;
mod import;
mod lists;
mod migrations;
mod newcomer;
mod ownership;
mod placeholders;
mod raid;
mod rejections;
mod replicas;
mod roles;
mod software;
mod store_copy;
mod support;
mod tls_trial;
mod trust_claims;
mod warranty;
mod webhooks;
mod webhooks_guard;
