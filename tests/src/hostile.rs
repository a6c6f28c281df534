//! Hostile PDFs for the availability tests and the hostile benchmark (the security review's
//! item 8), made on the fly so no such blob is ever committed: a catalog of a million keys,
//! a hundred thousand fields named `Signature1…`, a gigabyte hex string, a CMS stuffed with
//! thousands of certificates claiming to be the issuer.

use std::io::Write;

/// A PDF of the given objects (`objects[i]` is object `i + 1`), catalog = object 1, with a
/// classic cross-reference table.
pub fn assemble(objects: &[String]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f\r\n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n\r\n").as_bytes());
    }
    out.extend_from_slice(format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes());
    out
}

const PAGES: &str = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
const PAGE: &str = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>";

/// A one-page PDF whose catalog carries `keys` extra entries (11 MB for a million).
pub fn huge_dictionary(keys: usize) -> Vec<u8> {
    let mut catalog = String::with_capacity(keys * 12 + 64);
    catalog.push_str("<< /Type /Catalog /Pages 2 0 R");
    for i in 0..keys {
        catalog.push_str(&format!(" /K{i} {i}"));
    }
    catalog.push_str(" >>");
    assemble(&[catalog, PAGES.into(), PAGE.into()])
}

/// A one-page PDF with an AcroForm of `n` text fields named `Signature1` … `Signature{n}`: a
/// signer looking for a fresh name must not search quadratically.
pub fn many_fields(n: usize) -> Vec<u8> {
    let first = 5;
    let refs: String = (0..n).map(|i| format!("{} 0 R ", first + i)).collect();
    let mut objects =
        vec!["<< /Type /Catalog /Pages 2 0 R /AcroForm 4 0 R >>".to_string(), PAGES.into(), PAGE.into(), format!("<< /Fields [{refs}] >>")];
    for i in 0..n {
        objects.push(format!("<< /FT /Tx /T (Signature{}) >>", i + 1));
    }
    assemble(&objects)
}

/// Writes a one-page PDF to `path` whose (dangling) signature dictionary holds a hex string of
/// `bytes` bytes, streamed to disk (a gigabyte is never held in memory here).
pub fn write_huge_hex_string(path: &std::path::Path, bytes: u64) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let head = b"%PDF-1.7\n";
    f.write_all(head)?;
    let mut offsets = Vec::new();
    let mut pos = head.len();
    let objects_before = [
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] >> >>".to_string(),
        PAGES.into(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] >>".into(),
        "<< /FT /Sig /T (Sig) /Subtype /Widget /Rect [0 0 0 0] /V 5 0 R >>".into(),
    ];
    for (i, body) in objects_before.iter().enumerate() {
        offsets.push(pos);
        let text = format!("{} 0 obj\n{body}\nendobj\n", i + 1);
        f.write_all(text.as_bytes())?;
        pos += text.len();
    }
    offsets.push(pos);
    let open = b"5 0 obj\n<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached /ByteRange [0 10 20 30] /Contents <";
    f.write_all(open)?;
    pos += open.len();
    let chunk = vec![b'0'; 1 << 20];
    let mut left = bytes * 2;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        f.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    pos += (bytes * 2) as usize;
    let close = b"> >>\nendobj\n";
    f.write_all(close)?;
    pos += close.len();
    let xref = pos;
    f.write_all(b"xref\n0 6\n0000000000 65535 f\r\n")?;
    for o in offsets {
        f.write_all(format!("{o:010} 00000 n\r\n").as_bytes())?;
    }
    f.write_all(format!("trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes())?;
    f.flush()
}

/// Certificates that claim to be the issuing CA (its subject, another P-256 key, other serial
/// numbers): each costs a signature check to reject, which is the attack.
pub fn impostor_issuers(n: usize) -> Vec<x509_cert::Certificate> {
    use der::{Decode, Encode};
    let read = |stem: &str| {
        kyso_pades::certinfo::parse_certificates(&std::fs::read(crate::pki(&format!("{stem}.cert.pem"))).unwrap()).unwrap().remove(0)
    };
    let (ca, other) = (read("issuing-ca"), read("tsa"));
    let der = ca.to_der().unwrap();
    let serial = ca.tbs_certificate().serial_number().as_bytes().to_vec();
    let at = der.windows(serial.len()).position(|w| w == serial.as_slice()).expect("the serial is in the DER");
    // Both P-256: the key's encoding has the same length, so the DER's lengths stay right.
    let (spki, foreign) = (
        ca.tbs_certificate().subject_public_key_info().to_der().unwrap(),
        other.tbs_certificate().subject_public_key_info().to_der().unwrap(),
    );
    let key_at = der.windows(spki.len()).position(|w| w == spki.as_slice()).expect("the key is in the DER");
    (0..n)
        .map(|i| {
            let mut d = der.clone();
            d[key_at..key_at + spki.len()].copy_from_slice(&foreign);
            d[at + serial.len() - 4..at + serial.len()].copy_from_slice(&(i as u32 + 1).to_be_bytes());
            x509_cert::Certificate::from_der(&d).expect("still a certificate")
        })
        .collect()
}

/// A PDF signed by the test teacher whose CMS carries `n` impostor issuer certificates.
pub fn many_certificates(n: usize) -> Vec<u8> {
    use kyso_keys::{DigestAlgorithm, SignatureAlgorithm, SigningKey};
    let key = kyso_keys::SoftwareKey::from_pkcs8(&std::fs::read(crate::pki("head-p256.key.pem")).unwrap(), None).unwrap();
    let mut certs = kyso_pades::certinfo::parse_certificates(&std::fs::read(crate::pki("head-p256.cert.pem")).unwrap()).unwrap();
    certs.extend(impostor_issuers(n));
    let chain = kyso_pades::CertChain::new(certs).unwrap();
    let input = std::fs::read(crate::corpus().join("inputs/pyhanko-minimal.pdf")).unwrap();
    let mut doc = kyso_pdf::Document::open(std::io::Cursor::new(input)).unwrap();
    let algorithm = SignatureAlgorithm::choose(key.kind(), DigestAlgorithm::Sha256, false).unwrap();
    let (signing_time, _) = kyso_pades::vietnam_signing_time(1_795_960_985);
    let opts = kyso_pades::PdfSignOptions {
        subfilter: kyso_pades::SubFilter::Pades,
        algorithm,
        field: None,
        placement: kyso_pdf::Placement::Invisible,
        certify: None,
        lock: None,
        name: None,
        reason: None,
        location: None,
        contact_info: None,
        signing_time,
        appearance: None,
        reserve_extra: 0,
        identity_note: None,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    kyso_pades::sign_pdf(&mut doc, &mut out, &chain, &key, &opts).expect("signing with a stuffed chain");
    out.into_inner()
}
