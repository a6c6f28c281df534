//! `kyso-gen-ca DIR`: writes the test PKI (see the crate docs) into DIR.
fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "testdata/pki".into());
    if let Err(e) = kyso_testca::generate(std::path::Path::new(&dir)) {
        eprintln!("kyso-gen-ca: {e}");
        std::process::exit(1);
    }
    println!("test PKI written to {dir}");
}
