//! `kyso-pades`: CMS SignedData for PAdES and CAdES (signed attributes, ESS signing-certificate-v2,
//! exact `/Contents` sizing) and the phased PDF signing flow. It does no I/O of its own: callers
//! pass readers and writers in, and the time.
#![forbid(unsafe_code)]

pub mod batch;
pub mod certinfo;
pub mod cms_build;
pub mod crl;
mod error;
pub mod ess;
pub mod ocsp;
pub mod pdf_sign;
pub mod tsp;

pub use cms_build::CertChain;
pub use error::{Error, Result};
pub use pdf_sign::{
    Approval, PdfSignOptions, Prepared, SubFilter, add_document_timestamp, approval_options, prepare, sign_detached, sign_pdf,
    vietnam_signing_time,
};
