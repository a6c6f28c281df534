//! `kyso-pdf`: a lazy PDF reader and an append-only incremental writer, with the AcroForm and
//! signature-field logic that signing needs. It knows no cryptography: it reserves the
//! `/Contents` hole, hands every signed byte to a caller's closure, and patches the hole with
//! whatever DER the caller brings back.
#![forbid(unsafe_code)]

pub mod appearance;
mod error;
pub mod fields;
mod filter;
pub mod object;
mod open;
pub mod parser;
pub mod reader;
pub mod text_document;
pub mod writer;

pub use error::{Error, Result};
pub use fields::{AppearanceSpec, DocMdp, FieldInfo, FieldLock, Placement, SignatureRequest, ValidationData};
pub use object::{Dict, ObjRef, Object, Stream, StringStyle};
pub use open::{UpdateSource, open_for_update};
pub use reader::{Document, Interrupt, XrefDisagreement, XrefKind};
pub use writer::{PreparedSignature, Update};
