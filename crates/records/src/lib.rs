//! `kyso-records`: the records archive (*hồ sơ sổ sách điện tử*). The catalogue of registers as
//! data ([`catalogue`], seeded from Circulars 32/2020 and 28/2020, editable by administrators of
//! the Sở, a Phòng or a school), school years and their periods with the obligations they create
//! ([`years`]), submissions attached to an obligation that start the register's approval chain
//! ([`submit`]), and the completion dashboard with its exports ([`dashboard`], [`export`]).
//! It knows no HTTP: the REST API and the web pages call the same functions.
#![forbid(unsafe_code)]

pub mod catalogue;
pub mod dashboard;
mod error;
pub mod export;
pub mod submit;
pub mod years;

pub use error::{RecordsError, Result, Rule};
