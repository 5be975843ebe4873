//! The integration tests: one binary for every file in tests/ (each file a
//! module, by feature or behaviour; docs/testing.md lists them). One binary
//! links once: 67 separate ones took about 130 MB of disk and a link each,
//! 9 GB and minutes of every CI run. Run one file with
//! `cargo test --test suite notes::`, one test with its full name.

#[macro_use]
mod common;

mod account_mail;
mod accounts;
mod admin;
mod anonymous_home;
mod api;
mod api_tokens;
mod backup;
mod binary;
mod blocks;
mod blog;
mod blog_limits;
mod blog_social;
mod chat;
mod chat_api;
mod chat_digest;
mod chat_direct;
mod chat_messages;
mod chat_search;
mod chat_stream;
mod conduit;
mod conduit_users;
mod contact;
mod contact_inbox;
mod csrf;
mod database;
mod db_pool;
mod enumeration;
mod foundation;
mod jobs;
mod last_admin;
mod mail;
mod mentions;
mod metrics;
mod notes;
mod notes_import;
mod notification_digest;
mod notifications;
mod notifications_api;
mod notifications_apps;
mod oauth;
mod oauth_failures;
mod oauth_security;
mod openapi;
mod page_caches;
mod page_caches_admin;
mod page_caches_detail;
mod paging;
mod passkeys;
mod payments;
mod payments_secrets;
mod payments_settle;
mod payments_test_provider;
mod profile;
mod profile_cache;
mod redirects;
mod reports;
mod security_signin;
mod session_cache;
mod sessions;
mod shop;
mod shop_orders;
mod sign_in;
mod sqlite_stress;
mod startup;
mod tasks;
mod tasks_api;
mod tasks_board;
mod tasks_labels;
mod tasks_list;
mod tasks_time;
mod tasks_todo;
mod twostep;
mod twostep_rules;
mod twostep_signin;
