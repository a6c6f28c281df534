//! Kyso's integration tests. Everything Kyso writes is judged by tools it did not write.
#![forbid(unsafe_code)]

/// A test on SQLite and the same on PostgreSQL, for a test body that takes the backend.
macro_rules! on_both_databases {
    ($sqlite:ident, $postgres:ident => $body:ident) => {
        #[test]
        fn $sqlite() {
            $body(kyso_tests::service::Backend::Sqlite);
        }

        #[test]
        fn $postgres() {
            $body(kyso_tests::service::Backend::Postgres);
        }
    };
}

mod availability;
mod bad_input;
mod cades;
mod chain;
mod csc;
mod deferred;
mod domain;
mod keyfiles;
mod library_desk;
mod library_marc;
mod library_rest;
mod library_stocktake;
mod ltv;
mod phone;
mod pkcs11;
mod records;
mod security;
mod service;
mod sign_matrix;
mod verify;
mod visible;
mod web;
