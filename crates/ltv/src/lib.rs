//! `kyso-ltv`: the network side of long-term validation. Today: an RFC 3161 timestamping client
//! over HTTP (`application/timestamp-query`), with a bounded timeout so a hanging TSA never
//! blocks a signer. OCSP, CRL and AIA fetching belong here too (not built yet).
#![forbid(unsafe_code)]

use std::time::Duration;

/// A TSA reached over HTTP(S).
pub struct HttpTsa {
    url: String,
    client: reqwest::blocking::Client,
}

impl HttpTsa {
    pub fn new(url: &str, timeout: Duration) -> Result<Self, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {e}"))?;
        Ok(Self { url: url.to_string(), client })
    }
}

impl kyso_pades::tsp::TimestampSource for HttpTsa {
    fn request(&self, request_der: &[u8]) -> Result<Vec<u8>, String> {
        let resp =
            self.client.post(&self.url).header("Content-Type", "application/timestamp-query").body(request_der.to_vec()).send().map_err(
                |e| {
                    if e.is_timeout() {
                        format!("the TSA at {} did not answer in time", self.url)
                    } else {
                        format!("cannot reach the TSA at {}: {e}", self.url)
                    }
                },
            )?;
        if !resp.status().is_success() {
            return Err(format!("the TSA at {} answered HTTP {}", self.url, resp.status().as_u16()));
        }
        resp.bytes().map(|b| b.to_vec()).map_err(|e| format!("cannot read the TSA's answer: {e}"))
    }
}
