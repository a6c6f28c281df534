//! Confirm-on-phone signing, the shape every Vietnamese provider shares: submit the hashes, the
//! signer approves on a phone app, the client polls (with backoff, up to a deadline) until the
//! provider answers. Each outcome is its own error, in Vietnamese and English, because a person
//! reads it.

use kyso_keys::{KeyError, KeyKind, SignatureAlgorithm, SigningKey};
use std::time::{Duration, Instant};

/// What a poll says about a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollState {
    /// Still waiting for the signer (or the provider is signing).
    Pending,
    /// Signed: one value per submitted hash, in order.
    Signed(Vec<Vec<u8>>),
    /// The signer refused on the phone.
    Rejected,
    /// Nobody confirmed before the provider's own deadline.
    Expired,
    /// The signer's certificate is revoked or expired at the provider.
    CertificateInvalid,
    /// Anything else the provider reports, in its words.
    Failed(String),
}

/// One provider's protocol: submit a batch, poll a transaction.
pub trait PhoneProvider: Send + Sync {
    /// Short name for messages ("VNPT SmartCA").
    fn name(&self) -> &str;
    /// Submits the digests (one confirmation on the phone covers them all); returns a transaction id.
    fn submit(&self, alg: SignatureAlgorithm, digests: &[Vec<u8>], description: &str) -> Result<String, KeyError>;
    fn poll(&self, transaction: &str) -> Result<PollState, KeyError>;
    /// Largest batch one confirmation may cover.
    fn max_batch(&self) -> usize {
        usize::MAX
    }
}

/// How long and how often to poll.
#[derive(Clone, Copy, Debug)]
pub struct Polling {
    pub first_interval: Duration,
    pub max_interval: Duration,
    /// Give up after this long, whatever the provider says.
    pub deadline: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        // VNPT's sample client polls 24 × 10 s; a phone confirmation rarely takes longer.
        Self { first_interval: Duration::from_secs(2), max_interval: Duration::from_secs(10), deadline: Duration::from_secs(300) }
    }
}

/// A key whose private half lives with a provider and answers after a phone confirmation.
pub struct PhoneKey<P> {
    provider: P,
    kind: KeyKind,
    certificates: Vec<Vec<u8>>,
    polling: Polling,
    description: String,
}

impl<P: PhoneProvider> PhoneKey<P> {
    pub fn new(provider: P, kind: KeyKind, certificates: Vec<Vec<u8>>, polling: Polling, description: impl Into<String>) -> Self {
        Self { provider, kind, certificates, polling, description: description.into() }
    }

    /// The signer's certificate first, then its chain (DER), as the provider returned them.
    pub fn certificates(&self) -> &[Vec<u8>] {
        &self.certificates
    }

    fn wait(&self, transaction: &str, expected: usize) -> Result<Vec<Vec<u8>>, KeyError> {
        let start = Instant::now();
        let mut interval = self.polling.first_interval;
        let name = self.provider.name();
        loop {
            match self.provider.poll(transaction)? {
                PollState::Signed(sigs) if sigs.len() == expected => return Ok(sigs),
                PollState::Signed(sigs) => {
                    return Err(KeyError::Backend(format!("{name} returned {} signatures for {expected} hashes", sigs.len())));
                }
                PollState::Pending => {}
                PollState::Rejected => {
                    return Err(KeyError::Backend(format!(
                        "người ký đã từ chối trên điện thoại / the signer rejected the request on the phone ({name})"
                    )));
                }
                PollState::Expired => {
                    return Err(KeyError::Backend(format!(
                        "yêu cầu ký đã hết hạn mà chưa được xác nhận / the request expired before the signer confirmed it ({name})"
                    )));
                }
                PollState::CertificateInvalid => {
                    return Err(KeyError::Backend(format!(
                        "chứng thư số của người ký đã bị thu hồi hoặc hết hạn / the signer's certificate is revoked or expired ({name})"
                    )));
                }
                PollState::Failed(why) => return Err(KeyError::Backend(format!("{name} could not sign: {why}"))),
            }
            if start.elapsed() + interval > self.polling.deadline {
                return Err(KeyError::Backend(format!(
                    "không nhận được xác nhận trong {} giây / no confirmation within {} s ({name}, transaction {transaction})",
                    self.polling.deadline.as_secs(),
                    self.polling.deadline.as_secs()
                )));
            }
            std::thread::sleep(interval);
            interval = (interval.mul_f32(1.5)).min(self.polling.max_interval);
        }
    }
}

impl<P: PhoneProvider> SigningKey for PhoneKey<P> {
    fn kind(&self) -> KeyKind {
        self.kind
    }

    fn sign_digest(&self, alg: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(self.sign_digests(alg, &[digest.to_vec()])?.remove(0))
    }

    /// One submission (one confirmation on the phone) per provider batch.
    fn sign_digests(&self, alg: SignatureAlgorithm, digests: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, KeyError> {
        let mut out = Vec::with_capacity(digests.len());
        for chunk in digests.chunks(self.provider.max_batch().max(1)) {
            let tx = self.provider.submit(alg, chunk, &self.description)?;
            for sig in self.wait(&tx, chunk.len())? {
                out.push(match alg.scheme {
                    kyso_keys::Scheme::Ecdsa if matches!(sig.len(), 64 | 96) && sig.first() != Some(&0x30) => {
                        kyso_keys::ecdsa_raw_to_der(&sig)?
                    }
                    _ => sig,
                });
            }
        }
        Ok(out)
    }
}
