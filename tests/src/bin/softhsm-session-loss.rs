//! Helper for the PKCS#11 recovery test (run by `tests/integration/pkcs11.rs` with SOFTHSM2_CONF
//! pointing at a test token): signs, logs the application out of the token behind the key's back
//! (as a re-plugged token would), signs again. Prints `recovered` when the second signature
//! verifies too.
//! Usage: softhsm-session-loss MODULE URI PIN

use kyso_keys::{DigestAlgorithm, SignatureAlgorithm, SigningKey};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, module, uri, pin] = args.as_slice() else {
        eprintln!("usage: softhsm-session-loss MODULE URI PIN");
        std::process::exit(2);
    };
    let ctx = kyso_keys_pkcs11::load_module(module).expect("module");
    let uri: kyso_keys_pkcs11::Pkcs11Uri = uri.parse().expect("uri");
    let key = kyso_keys_pkcs11::Pkcs11Key::open(ctx.clone(), &uri, Some(pin.clone())).expect("key");
    let cert = key.certificate().expect("a certificate beside the key").to_vec();
    let spki = {
        use der::Encode;
        let c = kyso_pades::certinfo::parse_certificates(&cert).expect("cert");
        c[0].tbs_certificate().subject_public_key_info().to_der().expect("spki")
    };
    let alg = SignatureAlgorithm::choose(key.kind(), DigestAlgorithm::Sha256, false).expect("alg");
    let digest = DigestAlgorithm::Sha256.digest(b"so diem lop 9A");
    let first = key.sign_digest(alg, &digest).expect("first signature");
    kyso_keys::verify_digest(&spki, alg, &digest, &first).expect("first verifies");
    let other = ctx.open_ro_session(key.slot()).expect("a second session");
    other.logout().expect("log out behind the key's back");
    drop(other);
    let second = key.sign_digest(alg, &digest).expect("signature after the sessions were closed");
    kyso_keys::verify_digest(&spki, alg, &digest, &second).expect("second verifies");

    // The same in the middle of a batch of five PDFs: the token forgets the login after the
    // second signature; the batch must still sign all five, each valid.
    let losing = LosingKey { inner: &key, ctx: &ctx, slot: key.slot(), calls: std::sync::atomic::AtomicUsize::new(0) };
    let chain = kyso_pades::CertChain::new(kyso_pades::certinfo::parse_certificates(&cert).expect("cert")).expect("chain");
    let input = std::fs::read(kyso_tests::corpus().join("inputs/pyhanko-minimal.pdf")).expect("input");
    let items: Vec<_> = (0..5)
        .map(|_| kyso_pades::batch::BatchItem {
            document: kyso_pdf::Document::open(std::io::Cursor::new(input.clone())).expect("pdf"),
            output: std::io::Cursor::new(Vec::new()),
            field: None,
        })
        .collect();
    let opts = kyso_pades::PdfSignOptions {
        subfilter: kyso_pades::SubFilter::Pades,
        algorithm: alg,
        field: None,
        placement: kyso_pdf::Placement::Invisible,
        certify: None,
        lock: None,
        name: None,
        reason: None,
        location: None,
        contact_info: None,
        signing_time: kyso_pdf::fields::pdf_date(2026, 11, 29, 9, 0, 0, 420),
        appearance: None,
        reserve_extra: 0,
        identity_note: None,
    };
    let outcomes = kyso_pades::batch::sign_batch(items, &chain, &losing, &opts);
    for (i, (_, outcome)) in outcomes.iter().enumerate() {
        outcome.as_ref().unwrap_or_else(|e| panic!("document {i}: {e}"));
    }
    assert!(losing.calls.load(std::sync::atomic::Ordering::SeqCst) == 5);
    println!("recovered");
}

/// Wraps the token key and logs the application out after the second signature.
struct LosingKey<'a> {
    inner: &'a kyso_keys_pkcs11::Pkcs11Key,
    ctx: &'a cryptoki::context::Pkcs11,
    slot: cryptoki::slot::Slot,
    calls: std::sync::atomic::AtomicUsize,
}

impl SigningKey for LosingKey<'_> {
    fn kind(&self) -> kyso_keys::KeyKind {
        self.inner.kind()
    }

    fn sign_digest(&self, alg: SignatureAlgorithm, digest: &[u8]) -> Result<Vec<u8>, kyso_keys::KeyError> {
        let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n == 2 {
            let other = self.ctx.open_ro_session(self.slot).expect("a second session");
            other.logout().expect("log out mid-batch");
        }
        self.inner.sign_digest(alg, digest)
    }
}
