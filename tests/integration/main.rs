//! Kyso's integration tests. Everything Kyso writes is judged by tools it did not write.

mod bad_input;
mod cades;
mod chain;
mod csc;
mod deferred;
mod keyfiles;
mod ltv;
mod phone;
mod pkcs11;
mod service;
mod sign_matrix;
mod verify;
mod visible;
