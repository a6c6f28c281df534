//! `kyso-library`: the school library (*thư viện trường học*). The catalogue of bibliographic
//! records with MARC21 import and export ([`catalogue`], [`marc`], [`isbn`]), physical copies
//! with their accession numbers ([`items`]), readers, loan rules and holidays as data
//! ([`readers`]), circulation at the desk and holds ([`circulation`]), and the union catalogue
//! of a district ([`search`]), stocktake with Part III of the general register ([`stocktake`]). Who may do what is decided in [`access`], for the REST API and
//! the web pages alike. It knows no HTTP.
#![forbid(unsafe_code)]

pub mod access;
pub mod catalogue;
pub mod circulation;
pub mod csv;
pub mod dates;
mod error;
pub mod isbn;
pub mod items;
pub mod marc;
pub mod readers;
pub mod search;
pub mod stocktake;

pub use access::Library;
pub use error::{LibraryError, LoanRule, Result, Rule};
