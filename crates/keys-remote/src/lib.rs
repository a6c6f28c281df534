//! `kyso-keys-remote`: remote signing services behind `kyso_keys::SigningKey`.
//!
//! [`csc`] speaks the Cloud Signature Consortium API v1.0.4 (`info`, `credentials/*`,
//! `signatures/signHash`, `signatures/timestamp`) and batches hashes up to a credential's
//! `multisign`. Every call has a timeout; every failure names the service call, the HTTP status
//! or the malformed field. PINs, OTPs, tokens and SADs never appear in errors or `Debug` output.
//!
//! The client is blocking (reqwest's blocking client): callers in async code run it on a
//! blocking thread.
#![forbid(unsafe_code)]

pub mod csc;

pub use csc::{Credential, CscClient, CscKey};

use std::sync::Once;

/// rustls needs one process-wide crypto provider; `ring` keeps aws-lc-sys out of the build.
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
