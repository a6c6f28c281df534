//! Opening a document (startxref, xref tables and streams, object streams, repair), walking
//! pages and fields, and writing a signature update with its ByteRange hole.
#![no_main]
use kyso_pdf::{Dict, Document, Placement, SignatureRequest, Update};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

fuzz_target!(|data: &[u8]| {
    let Ok(mut doc) = Document::open(Cursor::new(data.to_vec())) else { return };
    let _ = doc.pages();
    let _ = doc.fields();
    let Ok(mut update) = Update::new(&mut doc) else { return };
    let request = SignatureRequest {
        field: None,
        placement: Placement::Invisible,
        entries: Dict::new(),
        capacity: 32,
        certify: None,
        lock: None,
        appearance: None,
    };
    if doc.add_signature(&mut update, &request).is_ok() {
        let mut out = Vec::new();
        if let Ok(Some(prepared)) = update.write(&mut doc, &mut out, &mut |_| {}) {
            let [a, b, c, d] = prepared.byte_range;
            assert_eq!(a, 0);
            assert!(b < c && c + d == out.len() as u64, "ByteRange must end at the end of the file");
        }
    }
});
