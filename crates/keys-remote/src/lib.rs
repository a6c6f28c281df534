//! `kyso-keys-remote`: remote signing services behind `kyso_keys::SigningKey`.
//!
//! [`csc`] speaks the Cloud Signature Consortium API v1.0.4 (`info`, `credentials/*`,
//! `signatures/signHash`, `signatures/timestamp`) and batches hashes up to a credential's
//! `multisign`. Every call has a timeout; every failure names the service call, the HTTP status
//! or the malformed field. PINs, OTPs, tokens and SADs never appear in errors or `Debug` output.
//!
//! [`providers`] adapts the Vietnamese confirm-on-phone services (VNPT SmartCA, Viettel MySign,
//! MISA eSign) to [`phone::PhoneKey`]: submit, poll with backoff up to a deadline, one named
//! outcome each (confirmed, rejected, expired, certificate invalid, provider error).
//!
//! The client is blocking (reqwest's blocking client): callers in async code run it on a
//! blocking thread.
#![forbid(unsafe_code)]

pub mod csc;
pub mod csc2;
mod http;
pub mod phone;
pub mod providers;

pub use csc::{Credential, CscClient, CscKey};
pub use phone::{PhoneKey, PhoneProvider, PollState, Polling};

use std::sync::Once;

/// rustls needs one process-wide crypto provider; `ring` keeps aws-lc-sys out of the build.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
