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
    println!("recovered");
}
