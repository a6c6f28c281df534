//! Reading the pages' upload forms (multipart) within bounds: the PDF streams into the store's
//! temporary space up to the operator's upload limit, a key file is kept in memory up to 64 KB,
//! every other field up to 8 KB, at most 32 fields. The framework's body limit is lifted on
//! these routes only (see `unbounded_upload`), so these bounds are the ones that hold.

use crate::AppState;
use crate::http::error::ApiError;
use axum::extract::Multipart;
use axum::extract::multipart::Field;
use std::collections::HashMap;

const MAX_FIELDS: usize = 32;
const MAX_TEXT: usize = 8 * 1024;
pub const MAX_KEY_FILE: usize = 64 * 1024;

/// What an upload form held.
#[derive(Default)]
pub struct UploadForm {
    pub fields: HashMap<String, String>,
    /// The field `file`: its name as the browser gave it, and its bytes in a temporary file.
    pub file: Option<(String, kyso_store::Received)>,
    /// The field `pkcs12`, when there was one.
    pub key_file: Vec<u8>,
}

impl UploadForm {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}

fn unreadable(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("the form could not be read: {e}"), "không đọc được biểu mẫu")
}

fn interrupted(e: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("the upload was interrupted: {e}"), "việc tải lên bị gián đoạn")
}

/// Reads a field into memory, refusing it past `limit` bytes.
async fn bounded(part: &mut Field<'_>, limit: usize, what: &str) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) = part.chunk().await.map_err(interrupted)? {
        if out.len() + chunk.len() > limit {
            return Err(ApiError::too_large(limit as u64, what));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

pub async fn read_upload(state: &AppState, mut m: Multipart) -> Result<UploadForm, ApiError> {
    let mut form = UploadForm::default();
    let mut count = 0;
    while let Some(mut part) = m.next_field().await.map_err(unreadable)? {
        count += 1;
        if count > MAX_FIELDS {
            return Err(unreadable(format!("more than {MAX_FIELDS} fields")));
        }
        let name = part.name().unwrap_or_default().chars().take(64).collect::<String>();
        match name.as_str() {
            "file" => {
                let file_name: String = part.file_name().unwrap_or("upload.pdf").chars().filter(|c| !c.is_control()).take(120).collect();
                let mut incoming = state
                    .store
                    .blobs
                    .receive(state.config.max_upload_bytes as u64)
                    .map_err(|e| ApiError::internal("receiving an upload", e))?;
                while let Some(chunk) = part.chunk().await.map_err(interrupted)? {
                    incoming.write(&chunk)?;
                }
                let received = incoming.finish().map_err(|e| ApiError::internal("receiving an upload", e))?;
                if received.len > 0 {
                    form.file = Some((file_name, received));
                }
            }
            "pkcs12" => form.key_file = bounded(&mut part, MAX_KEY_FILE, "key file").await?,
            _ => {
                let bytes = bounded(&mut part, MAX_TEXT, "form field").await?;
                form.fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    Ok(form)
}

/// Lifts the framework's 64 KB body limit on an upload route: [`read_upload`] bounds each part.
pub fn unbounded_upload() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::disable()
}
