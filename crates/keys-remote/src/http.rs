//! The one HTTP helper every remote backend uses: JSON in and out, a timeout on every call, and
//! errors that name the call, the HTTP status and the provider's own message (never a secret).

use kyso_keys::KeyError;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;

pub struct Http {
    base: String,
    client: reqwest::blocking::Client,
}

impl Http {
    pub fn new(base: &str, timeout: Duration) -> Result<Self, KeyError> {
        crate::install_crypto_provider();
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| KeyError::Backend(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Self { base: base.trim_end_matches('/').to_string(), client })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// POSTs `body` (or GETs when `None`) to `base/path` with the given headers and bearer token.
    pub fn call<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
        bearer: Option<&str>,
    ) -> Result<T, KeyError> {
        let url = format!("{}/{}", self.base, path.trim_start_matches('/'));
        let mut req = match &body {
            Some(b) => self.client.post(&url).json(b),
            None => self.client.get(&url),
        };
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let resp = req.send().map_err(|e| {
            if e.is_timeout() {
                KeyError::Backend(format!("the signing service did not answer {path} in time ({url})"))
            } else if e.is_connect() {
                KeyError::Backend(format!("cannot reach the signing service at {url}"))
            } else {
                KeyError::Backend(format!("{path} failed: {e}"))
            }
        })?;
        let status = resp.status();
        let text = resp.text().map_err(|e| KeyError::Backend(format!("{path}: cannot read the answer: {e}")))?;
        if !status.is_success() {
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    ["error_description", "message", "error"].iter().find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
                })
                .unwrap_or_default();
            let sep = if detail.is_empty() { "" } else { ": " };
            return Err(KeyError::Backend(format!("the signing service answered {path} with HTTP {}{sep}{detail}", status.as_u16())));
        }
        serde_json::from_str(&text).map_err(|e| KeyError::Backend(format!("the signing service sent malformed JSON for {path}: {e}")))
    }
}
