//! The server's key store for software keys: the PKCS#8 key encrypted with AES-256-GCM under the
//! operator's key-encryption key (from the environment, never in the database), the row's id and
//! the person's id bound in as associated data, so a row moved to another person or altered does
//! not decrypt.

use crate::error::{Result, SignersError};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// The key-encryption key (no `Debug`: it never reaches a log).
pub struct Kek([u8; 32]);

impl Kek {
    pub fn new(bytes: [u8; 32]) -> Self {
        Kek(bytes)
    }
}

fn aad(id: &str, user_id: &str) -> Vec<u8> {
    format!("kyso-keystore/1\0{id}\0{user_id}").into_bytes()
}

/// Encrypts `pkcs8_der`: returns (nonce, ciphertext), base64.
pub fn seal(kek: &Kek, id: &str, user_id: &str, pkcs8_der: &[u8]) -> Result<(String, String)> {
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).expect("the system random source works");
    let cipher = Aes256Gcm::new(&kek.0.into());
    let sealed = cipher
        .encrypt(&Nonce::from(nonce), Payload { msg: pkcs8_der, aad: &aad(id, user_id) })
        .map_err(|_| SignersError::Unusable("encrypting the key failed".into()))?;
    Ok((B64.encode(nonce), B64.encode(sealed)))
}

/// Decrypts what [`seal`] made for the same row and person.
pub fn open(kek: &Kek, id: &str, user_id: &str, nonce: &str, ciphertext: &str) -> Result<Vec<u8>> {
    let nonce: [u8; 12] = B64.decode(nonce).ok().and_then(|n| n.try_into().ok()).ok_or(SignersError::KeystoreCorrupt)?;
    let sealed = B64.decode(ciphertext).map_err(|_| SignersError::KeystoreCorrupt)?;
    let cipher = Aes256Gcm::new(&kek.0.into());
    cipher.decrypt(&Nonce::from(nonce), Payload { msg: &sealed, aad: &aad(id, user_id) }).map_err(|_| SignersError::KeystoreCorrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_for_its_row_and_person_and_key() {
        let kek = Kek::new([7; 32]);
        let (n, c) = seal(&kek, "row1", "huong", b"secret key").unwrap();
        assert_eq!(open(&kek, "row1", "huong", &n, &c).unwrap(), b"secret key");
        assert!(matches!(open(&kek, "row1", "minh", &n, &c), Err(SignersError::KeystoreCorrupt)), "moved to another person");
        assert!(open(&kek, "row2", "huong", &n, &c).is_err(), "another row");
        assert!(open(&Kek::new([8; 32]), "row1", "huong", &n, &c).is_err(), "another key");
        let mut bytes = B64.decode(&c).unwrap();
        bytes[0] ^= 1;
        assert!(open(&kek, "row1", "huong", &n, &B64.encode(bytes)).is_err(), "altered");
    }
}
