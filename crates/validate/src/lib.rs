//! `kyso-validate`: checks every signature of a PDF and returns a [`Report`] (never a bare
//! bool). Per signature: ByteRange shape and coverage, the CMS (digest, signature, detached
//! form), the certificate path to configured anchors, and every change made after it. It fails
//! closed: a result is TOTAL-PASSED only after every check passed positively.
//!
//! Not yet: revocation checking (OCSP/CRL, DSS), timestamp verification, PAdES LT/LTA levels
//! (issue 4). Those are reported as messages, and `Context::require_revocation` is false.
#![forbid(unsafe_code)]

pub mod chain;
mod cms_check;
mod diff;
pub mod input;
mod path;
pub mod report;
pub mod revocation;

pub use input::Input;
pub use report::{Attack, Coverage, Indication, Message, Modifications, Report, SignatureReport, Signer};
pub use revocation::{OnlineAnswer, OnlineRevocation};

use cms_check::CmsFailure;
use der::{Decode, Encode};
use input::View;
use kyso_pdf::{Document, Object};
use report::msg;
use x509_cert::Certificate;

/// The largest signature value (`/Contents`, hex) read: a CMS with its certificates and
/// timestamps fits in far less; a larger one is refused before it is held.
const MAX_CONTENTS_HEX: u64 = 32 << 20;

/// What the caller brings: trust anchors, the time to validate at (the core reads no clock), and
/// the way to ask the network about revocation (`None`: offline).
pub struct Context {
    pub trust_anchors: Vec<Certificate>,
    pub validation_time_unix: u64,
    pub online: Option<Box<dyn revocation::OnlineRevocation>>,
    /// Asked as the work goes: `true` stops it with [`kyso_pdf::Error::Interrupted`].
    pub interrupt: Option<kyso_pdf::Interrupt>,
}

impl Context {
    /// Offline validation at `validation_time_unix` against `trust_anchors`.
    pub fn offline(trust_anchors: Vec<Certificate>, validation_time_unix: u64) -> Self {
        Context { trust_anchors, validation_time_unix, online: None, interrupt: None }
    }

    fn interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(|stop| stop())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The message is the reader's own (it names the problem); callers add the file name.
    #[error(transparent)]
    Pdf(#[from] kyso_pdf::Error),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Pdf(kyso_pdf::Error::Io(e))
    }
}

/// Positions just after each `%%EOF` (and its end-of-line): where revisions end.
fn revision_ends(input: &Input) -> std::io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for at in input.find_all(b"%%EOF")? {
        let mut end = at + 5;
        let after = input.range(end, end + 2)?;
        if after.first() == Some(&b'\r') {
            end += 1;
        }
        if input.range(end, end + 1)?.first() == Some(&b'\n') {
            end += 1;
        }
        if out.last().is_none_or(|l| *l < end) {
            out.push(end);
        }
    }
    Ok(out)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Validates every signature of the PDF in `data`.
pub fn validate(data: &[u8], ctx: &Context) -> Result<Report, Error> {
    validate_input(Input::Memory(data), ctx)
}

/// Validates every signature of the PDF in `file`, reading it by range (never whole).
pub fn validate_file(file: &std::fs::File, ctx: &Context) -> Result<Report, Error> {
    validate_input(Input::file(file)?, ctx)
}

/// Validates every signature of the PDF `data` holds.
pub fn validate_input(data: Input, ctx: &Context) -> Result<Report, Error> {
    let mut doc = Document::open(data.view(data.len()))?;
    doc.set_interrupt(ctx.interrupt.clone());
    let ends = revision_ends(&data)?;
    let certification = doc.certification_level().ok().flatten();
    let mut report = Report { revisions: doc.revisions().len().max(1), certification, signatures: Vec::new(), messages: Vec::new() };
    if doc.repair_reason().is_some() {
        report
            .messages
            .push(msg("cấu trúc tham chiếu chéo của tệp bị hỏng", "the file's cross-reference data is damaged; it was read by scanning"));
    }
    let fields = doc.fields().unwrap_or_default();
    let dss = doc.dss().unwrap_or_default();
    let has_revocation_data = !dss.ocsps.is_empty() || !dss.crls.is_empty();
    // Certificates the DSS carries help build paths (a document timestamp's TSA chain, say).
    // Renewals append to the DSS: the same item may be there several times.
    let unique = |mut v: Vec<Vec<u8>>| {
        v.sort();
        v.dedup();
        v
    };
    let dss_certs: Vec<Certificate> = unique(dss.certs.clone()).iter().filter_map(|c| Certificate::from_der(c).ok()).collect();
    let dss_evidence = revocation::Evidence { ocsps: unique(dss.ocsps.clone()), crls: unique(dss.crls.clone()) };
    let cert_sig = doc
        .catalog()
        .ok()
        .and_then(|c| doc.resolve_dict(c.get(b"Perms")).ok().flatten())
        .and_then(|p| p.get(b"DocMDP").and_then(Object::as_ref));
    let mut attached = std::collections::HashSet::new();
    for field in fields.into_iter().filter(|f| f.field_type.as_deref() == Some("Sig")) {
        if ctx.interrupted() {
            return Err(Error::Pdf(kyso_pdf::Error::Interrupted));
        }
        let Some(sig_ref) = field.signature else { continue };
        attached.insert(sig_ref);
        let sig = match doc.resolve_dict(Some(&Object::Ref(sig_ref))) {
            Ok(Some(d)) => d,
            // Fail closed: a signed field whose signature cannot be read is a failed signature,
            // never one left out of the report.
            _ => {
                report.signatures.push(unreadable_signature(&field.name, data.len()));
                continue;
            }
        };
        let docmdp = if Some(sig_ref) == cert_sig { certification } else { None };
        let file = FileView { data: &data, ends: &ends, dss_certs: &dss_certs, dss_evidence: &dss_evidence };
        let mut r = check_signature(&file, &field.name, &sig, ctx, docmdp, &mut doc);
        r.certification = docmdp;
        if has_revocation_data && r.level == "PAdES-B-T" {
            r.level = "PAdES-B-LT".into();
        }
        report.signatures.push(r);
    }
    // Fail closed on signatures no signature field shows (a field whose /FT or /V was changed,
    // a dictionary left behind): each live signature dictionary in the file must be reported.
    for r in unattached_signatures(&data, &mut doc, &attached)? {
        let mut u = unreadable_signature(&format!("(object {} {})", r.num, r.generation), data.len());
        u.messages = vec![msg(
            format!("từ điển chữ ký (đối tượng {}) không gắn với trường chữ ký nào: chữ ký bị ẩn hoặc bị tách khỏi trường", r.num),
            format!(
                "a signature dictionary (object {}) is not attached to any signature field: the signature was hidden or detached",
                r.num
            ),
        )];
        report.signatures.push(u);
    }
    // In signing order: by where the signed revision ends.
    report.signatures.sort_by_key(|s| s.revision_end);
    // B-LTA: validation data, then a valid document timestamp over it, after the signature.
    let doc_ts_ends: Vec<u64> = report
        .signatures
        .iter()
        .filter(|s| s.level == "DOCUMENT-TIMESTAMP" && s.indication == Indication::TotalPassed)
        .map(|s| s.revision_end)
        .collect();
    for s in report.signatures.iter_mut().filter(|s| s.level == "PAdES-B-LT") {
        if doc_ts_ends.iter().any(|e| *e > s.revision_end) {
            s.level = "PAdES-B-LTA".into();
        }
    }
    Ok(report)
}

/// The whole file as validation sees it: bytes, where each revision ends, the DSS certificates.
struct FileView<'a> {
    data: &'a Input<'a>,
    ends: &'a [u64],
    dss_certs: &'a [Certificate],
    dss_evidence: &'a revocation::Evidence,
}

fn check_signature(
    file: &FileView,
    field: &str,
    sig: &kyso_pdf::Dict,
    ctx: &Context,
    docmdp: Option<i64>,
    doc: &mut Document<View>,
) -> SignatureReport {
    let (data, ends, dss_certs) = (file.data, file.ends, file.dss_certs);
    let text = |k: &[u8]| sig.get(k).and_then(Object::as_bytes).map(kyso_pdf::fields::decode_text);
    let mut r = SignatureReport {
        field: field.to_string(),
        subfilter: sig.name(b"SubFilter").map(|n| String::from_utf8_lossy(n).into_owned()).unwrap_or_default(),
        signer: None,
        signing_time: text(b"M"),
        timestamp_time: None,
        level: String::new(),
        indication: Indication::TotalFailed,
        sub_indication: None,
        intact: false,
        coverage: Coverage::Unclear,
        modifications: Modifications::None,
        attacks: Vec::new(),
        messages: Vec::new(),
        digest_algorithm: None,
        trusted: false,
        certification: None,
        revision_end: 0,
    };
    let fail = |r: &mut SignatureReport, sub: &str, attack: Option<Attack>, vi: &str, en: String| {
        r.indication = Indication::TotalFailed;
        r.sub_indication = Some(sub.into());
        if let Some(a) = attack {
            r.attacks.push(a);
        }
        r.messages.push(msg(vi, en));
    };
    // 1. ByteRange: exactly [0 a b c], framing the /Contents hex string, inside the file.
    let br: Vec<i64> =
        sig.get(b"ByteRange").and_then(Object::as_array).map(|a| a.iter().filter_map(Object::as_i64).collect()).unwrap_or_default();
    let len = data.len();
    let [0, a, b, c] = br[..] else {
        fail(
            &mut r,
            "FORMAT_FAILURE",
            Some(Attack::Usf),
            "ByteRange không hợp lệ",
            format!("/ByteRange must be four numbers [0 a b c]; it is {br:?}"),
        );
        return r;
    };
    let (a, b, c) = (a as u64, b as u64, c as u64);
    if br.iter().any(|v| *v < 0) || a >= b || b.checked_add(c).is_none_or(|e| e > len) || b - a < 2 {
        fail(
            &mut r,
            "FORMAT_FAILURE",
            Some(Attack::Usf),
            "ByteRange không hợp lệ",
            format!("/ByteRange {br:?} does not fit the file ({len} bytes)"),
        );
        return r;
    }
    if b - a > MAX_CONTENTS_HEX {
        fail(
            &mut r,
            "FORMAT_FAILURE",
            Some(Attack::Usf),
            "giá trị chữ ký quá lớn",
            format!("the signature value is {} bytes, more than any signature needs ({MAX_CONTENTS_HEX} at most): not read", b - a),
        );
        return r;
    }
    let hole = match data.range(a, b) {
        Ok(h) => h,
        Err(e) => {
            fail(&mut r, "FORMAT_FAILURE", None, "không đọc được giá trị chữ ký", format!("the signature value cannot be read: {e}"));
            return r;
        }
    };
    let hex_ok = hole.first() == Some(&b'<') && hole.last() == Some(&b'>') && hole[1..hole.len() - 1].iter().all(|x| hex_val(*x).is_some());
    if !hex_ok {
        fail(
            &mut r,
            "FORMAT_FAILURE",
            Some(Attack::Swa),
            "vùng không ký chứa dữ liệu lạ",
            "the unsigned gap of the ByteRange holds more than the /Contents hex string (signature wrapping)".into(),
        );
        return r;
    }
    let contents: Vec<u8> = hole[1..hole.len() - 1]
        .chunks(2)
        .map(|p| hex_val(p[0]).unwrap_or(0) << 4 | p.get(1).and_then(|x| hex_val(*x)).unwrap_or(0))
        .collect();
    if sig.get(b"Contents").and_then(Object::as_bytes) != Some(contents.as_slice()) {
        fail(
            &mut r,
            "FORMAT_FAILURE",
            Some(Attack::DictionarySpoofing),
            "/Contents không khớp",
            "the signature dictionary's /Contents is not the string the ByteRange frames".into(),
        );
        return r;
    }
    let end = b + c;
    r.revision_end = end;
    // A note the signing service put in the signed dictionary (the certificate was accepted for
    // a person whose record it does not match, and why): shown, never hidden.
    if let Some(note) = text(b"KysoIdentityNote") {
        r.messages.push(msg(
            format!("dịch vụ ký ghi chú: chứng thư này được quản trị viên chấp nhận dù không khớp với hồ sơ người ký ({note})"),
            format!("the signing service notes: an administrator accepted this certificate although it does not match the signer's record ({note})"),
        ));
    }
    // The signed revision itself must read the same to every reader (hybrid references).
    if let Ok(signed) = Document::open(data.view(end))
        && let Some(d) = signed.xref_disagreements().first()
    {
        fail(
            &mut r,
            "FORMAT_FAILURE",
            Some(Attack::XrefDifferential),
            "bảng tham chiếu chéo và luồng /XRefStm của phiên bản đã ký mâu thuẫn nhau",
            format!(
                "in the signed revision, object {} resolves to {:?} for a table-only reader and to {:?} for a PDF 1.5 reader: viewers show different documents",
                d.object, d.table_reader, d.stream_reader
            ),
        );
        return r;
    }
    r.coverage = if end == len {
        Coverage::EntireFile
    } else if ends.contains(&end) {
        Coverage::EntireRevision
    } else {
        Coverage::Partial
    };
    // 2. The CMS (a document timestamp's token is judged on its own).
    if r.subfilter == "ETSI.RFC3161" {
        check_document_timestamp(&mut r, data, (a, b, end), &contents, ctx);
        if r.intact && judge_later_changes(&mut r, data, (end, ends), docmdp, doc, sig, ctx) {
            let token = doc_timestamp_token(&contents);
            if let Some(t) = token.as_ref().and_then(|t| kyso_pades::tsp::verify_token(t, None).ok()) {
                let at = t.info.gen_time().1.unwrap_or(ctx.validation_time_unix);
                let pool: Vec<Certificate> = t.certificates.iter().chain(dss_certs).take(path::MAX_POOL).cloned().collect();
                judge_path(&mut r, &t.tsa_certificate, &pool, ctx, at.max(ctx.validation_time_unix));
            }
        }
        return r;
    }
    let detached = matches!(r.subfilter.as_str(), "ETSI.CAdES.detached" | "adbe.pkcs7.detached");
    if !detached {
        r.indication = Indication::Indeterminate;
        r.sub_indication = Some("FORMAT_FAILURE".into());
        r.messages.push(msg("loại chữ ký không được hỗ trợ", format!("SubFilter {} is not supported", r.subfilter)));
        return r;
    }
    let sd = match cms_check::parse(&contents) {
        Ok(sd) => sd,
        Err(e) => {
            fail(&mut r, "FORMAT_FAILURE", Some(Attack::Usf), "không đọc được CMS", format!("{e:?}"));
            return r;
        }
    };
    let mut hash_signed = |d: kyso_keys::DigestAlgorithm| {
        let mut h = d.hasher();
        // A read error leaves the digest short, which then does not match: fails closed.
        let _ = data.stream(&[(0, a), (b, end)], &mut |chunk| h.update(chunk));
        h.finalize()
    };
    let facts = match cms_check::check(&sd, &mut hash_signed) {
        Ok(f) => f,
        Err(CmsFailure::Unsupported(why)) => {
            r.indication = Indication::Indeterminate;
            r.sub_indication = Some("CRYPTO_CONSTRAINTS_FAILURE".into());
            r.messages.push(msg("thuật toán không được chấp nhận", why));
            return r;
        }
        Err(CmsFailure::EncapsulatedContent) => {
            fail(
                &mut r,
                "FORMAT_FAILURE",
                Some(Attack::EncapsulatedContent),
                "CMS tách rời lại chứa nội dung",
                "the SubFilter says detached but the CMS encapsulates content".into(),
            );
            return r;
        }
        Err(CmsFailure::DigestMismatch) => {
            fail(
                &mut r,
                "HASH_FAILURE",
                None,
                "tài liệu đã bị thay đổi sau khi ký",
                "the signed bytes do not match the message digest: the document was changed".into(),
            );
            return r;
        }
        Err(CmsFailure::BadSignature) => {
            fail(
                &mut r,
                "SIG_CRYPTO_FAILURE",
                None,
                "chữ ký không hợp lệ",
                "the signature value does not verify with the signer's public key".into(),
            );
            return r;
        }
        Err(CmsFailure::Malformed(why)) => {
            fail(&mut r, "FORMAT_FAILURE", Some(Attack::Usf), "CMS không hợp lệ", why);
            return r;
        }
    };
    r.intact = true;
    r.digest_algorithm = Some(facts.digest.name().to_string());
    let signer = &facts.signer;
    r.signer = Some(signer_info(signer));
    r.level = match (r.subfilter.as_str(), facts.has_ess_signing_certificate, facts.has_timestamp) {
        ("ETSI.CAdES.detached", true, true) => "PAdES-B-T".into(),
        ("ETSI.CAdES.detached", true, false) => "PAdES-B-B".into(),
        _ => "PKCS7".into(),
    };
    if facts.has_ess_signing_certificate && !facts.ess_matches {
        fail(
            &mut r,
            "FORMAT_FAILURE",
            None,
            "thuộc tính signing-certificate-v2 không khớp",
            "signing-certificate-v2 does not name the signer's certificate".into(),
        );
        return r;
    }
    let mut proven_time = None;
    // A signature timestamp must stamp this very signature value (not a copy from elsewhere).
    if let Some(token) = &facts.timestamp_token {
        let imprint_alg = kyso_pades::tsp::verify_token(token, None)
            .ok()
            .and_then(|t| kyso_keys::DigestAlgorithm::from_oid(&t.info.message_imprint.hash_algorithm.oid))
            .unwrap_or(facts.digest);
        match kyso_pades::tsp::verify_token(token, Some(&imprint_alg.digest(&facts.signature_value))) {
            Ok(t) => {
                let (text, unix) = t.info.gen_time();
                r.timestamp_time = Some(text);
                let pool: Vec<Certificate> =
                    t.certificates.iter().chain(facts.certificates.iter()).chain(dss_certs).take(path::MAX_POOL).cloned().collect();
                // The timestamp proves the signing time only if its TSA is trusted now.
                match path::build(&t.tsa_certificate, &pool, &ctx.trust_anchors, ctx.validation_time_unix) {
                    Ok(_) => {
                        proven_time = unix;
                        r.messages.push(msg("dấu thời gian hợp lệ", "the signature timestamp is valid and its TSA is trusted"))
                    }
                    Err(_) => r.messages.push(msg(
                        "dấu thời gian không chuỗi tới gốc tin cậy tại thời điểm kiểm tra",
                        "the signature timestamp's TSA does not chain to a trusted root at the validation time",
                    )),
                }
            }
            Err(e) => {
                let copied = e.to_string().contains("another value");
                fail(&mut r, "TIMESTAMP_FAILURE", copied.then_some(Attack::Usf), "dấu thời gian không hợp lệ", e.to_string());
                return r;
            }
        }
    }
    if !judge_later_changes(&mut r, data, (end, ends), docmdp, doc, sig, ctx) {
        return r;
    }
    let pool: Vec<Certificate> = facts.certificates.iter().chain(dss_certs).take(path::MAX_POOL).cloned().collect();
    judge_path(&mut r, signer, &pool, ctx, ctx.validation_time_unix);
    // Past the certificate's expiry, a trusted signature timestamp is the proof of existence:
    // the path must have been valid when the timestamp says the signature existed.
    if r.sub_indication.as_deref() == Some("OUT_OF_BOUNDS_NO_POE")
        && let Some(at) = proven_time
    {
        let expired = r.messages.pop();
        r.sub_indication = None;
        judge_path(&mut r, signer, &pool, ctx, at);
        if r.indication == Indication::TotalPassed {
            r.messages.push(msg(
                "chứng thư số đã hết hạn, nhưng dấu thời gian chứng minh chữ ký được tạo khi chứng thư còn hiệu lực",
                "the certificate has expired since, but the signature timestamp proves the signature was made while it was valid",
            ));
        } else if let Some(m) = expired {
            r.messages.push(m);
        }
    }
    if r.indication == Indication::TotalPassed {
        let mut evidence = revocation::Evidence { ocsps: file.dss_evidence.ocsps.clone(), crls: file.dss_evidence.crls.clone() };
        revocation::from_cms(&sd, &mut evidence);
        revocation::judge(&mut r, signer, &pool, &evidence, ctx.online.as_deref(), proven_time);
    }
    r
}

/// Step 3: what the revisions after this signature changed. Returns false when that already
/// decides the verdict (disallowed changes).
/// `(end, ends)`: where this signature's revision ends, and where every revision does.
fn judge_later_changes(
    r: &mut SignatureReport,
    data: &Input,
    (end, ends): (u64, &[u64]),
    docmdp: Option<i64>,
    doc: &mut Document<View>,
    sig: &kyso_pdf::Dict,
    ctx: &Context,
) -> bool {
    let locks = field_locks(doc, sig);
    let findings =
        diff::analyse(data, end, ends, docmdp, &|name: &str| locks.as_ref().is_some_and(|l| l.locks(name)), ctx.interrupt.as_ref());
    r.modifications = if findings.disallowed || r.coverage == Coverage::Partial {
        Modifications::Disallowed
    } else if findings.changed {
        Modifications::Permitted
    } else {
        Modifications::None
    };
    if r.coverage == Coverage::Partial {
        r.messages
            .push(msg("chữ ký không bao phủ toàn bộ phiên bản", "the signature stops inside a revision: bytes after it are unsigned"));
    }
    for a in findings.attacks {
        if !r.attacks.contains(&a) {
            r.attacks.push(a);
        }
    }
    r.messages.extend(findings.messages);
    if r.modifications == Modifications::Disallowed {
        r.indication = Indication::TotalFailed;
        r.sub_indication = Some("DISALLOWED_MODIFICATIONS".into());
        return false;
    }
    true
}

/// Step 4: the path from `subject` to a trust anchor, at `at` (Unix seconds).
fn judge_path(r: &mut SignatureReport, subject: &Certificate, pool: &[Certificate], ctx: &Context, at: u64) {
    match path::build(subject, pool, &ctx.trust_anchors, at) {
        Ok(chain) => {
            r.trusted = true;
            if let Some(s) = r.signer.as_mut() {
                s.chain = chain;
            }
            r.indication = Indication::TotalPassed;
        }
        Err(e) => {
            r.indication = Indication::Indeterminate;
            let (sub, vi, en) = match e {
                path::PathFailure::NoChain(en) => ("NO_CERTIFICATE_CHAIN_FOUND", "không tìm thấy đường dẫn tới chứng thư gốc tin cậy", en),
                path::PathFailure::Expired(en) => ("OUT_OF_BOUNDS_NO_POE", "chứng thư số đã hết hạn hoặc chưa có hiệu lực", en),
                path::PathFailure::Invalid(en) => ("CHAIN_CONSTRAINTS_FAILURE", "chuỗi chứng thư không hợp lệ", en),
            };
            r.sub_indication = Some(sub.into());
            r.messages.push(msg(vi, en));
        }
    }
}

/// Live objects holding a signature dictionary (`/ByteRange` and `/Contents`) that no signature
/// field points at. Signature dictionaries are never compressed (their /Contents must lie in
/// the file's bytes), so a scan of the raw bytes for `/ByteRange` finds them all.
fn unattached_signatures(
    data: &Input,
    doc: &mut Document<View>,
    attached: &std::collections::HashSet<kyso_pdf::ObjRef>,
) -> std::io::Result<Vec<kyso_pdf::ObjRef>> {
    const LOOK_BACK: u64 = 1 << 20;
    let mut found = Vec::new();
    for i in data.find_all(b"/ByteRange")? {
        // The object it sits in: the last "N G obj" before it (within a megabyte).
        let from = i.saturating_sub(LOOK_BACK);
        let before = data.range(from, i)?;
        let Some(obj_kw) = before.windows(3).rposition(|w| w == b"obj") else { continue };
        let head = &before[obj_kw.saturating_sub(24)..obj_kw];
        let text = String::from_utf8_lossy(head);
        let mut nums = text.split_whitespace().rev();
        let (Some(generation), Some(num)) =
            (nums.next().and_then(|g| g.parse::<u16>().ok()), nums.next().and_then(|n| n.parse::<u32>().ok()))
        else {
            continue;
        };
        let r = kyso_pdf::ObjRef::new(num, generation);
        if attached.contains(&r) || found.contains(&r) {
            continue;
        }
        if let Ok(Object::Dict(d)) = doc.get(r)
            && d.contains(b"ByteRange")
            && d.contains(b"Contents")
        {
            found.push(r);
        }
    }
    Ok(found)
}

fn unreadable_signature(field: &str, file_len: u64) -> SignatureReport {
    SignatureReport {
        field: field.to_string(),
        subfilter: String::new(),
        signer: None,
        signing_time: None,
        timestamp_time: None,
        level: String::new(),
        indication: Indication::TotalFailed,
        sub_indication: Some("FORMAT_FAILURE".into()),
        intact: false,
        coverage: Coverage::Unclear,
        modifications: Modifications::None,
        attacks: Vec::new(),
        messages: vec![msg("không đọc được từ điển chữ ký của trường này", "the signature dictionary of this field cannot be read")],
        digest_algorithm: None,
        trusted: false,
        certification: None,
        // Sorted last: where it ends is unknown.
        revision_end: file_len,
    }
}

fn doc_timestamp_token(contents: &[u8]) -> Option<cms::content_info::ContentInfo> {
    let sd = cms_check::parse(contents).ok()?;
    let der = sd.to_der().ok()?;
    Some(cms::content_info::ContentInfo {
        content_type: const_oid::db::rfc5911::ID_SIGNED_DATA,
        content: der::asn1::Any::from_der(&der).ok()?,
    })
}

/// A document timestamp (PAdES B-LTA): the token must stamp exactly the bytes its ByteRange
/// covers, be a valid RFC 3161 token, and come from a TSA (the path is judged by the caller).
fn check_document_timestamp(r: &mut SignatureReport, data: &Input, (a, b, end): (u64, u64, u64), contents: &[u8], _ctx: &Context) {
    r.level = "DOCUMENT-TIMESTAMP".into();
    r.signing_time = None;
    let Some(token) = doc_timestamp_token(contents) else {
        r.indication = Indication::TotalFailed;
        r.sub_indication = Some("FORMAT_FAILURE".into());
        r.attacks.push(Attack::Usf);
        r.messages.push(msg("dấu thời gian tài liệu không đọc được", "the document timestamp is not an RFC 3161 token"));
        return;
    };
    let alg = kyso_pades::tsp::verify_token(&token, None)
        .ok()
        .and_then(|t| kyso_keys::DigestAlgorithm::from_oid(&t.info.message_imprint.hash_algorithm.oid));
    let Some(alg) = alg else {
        r.indication = Indication::TotalFailed;
        r.sub_indication = Some("FORMAT_FAILURE".into());
        r.messages
            .push(msg("dấu thời gian tài liệu không hợp lệ", "the document timestamp token does not verify or uses an unknown digest"));
        return;
    };
    let mut h = alg.hasher();
    let _ = data.stream(&[(0, a), (b, end)], &mut |chunk| h.update(chunk));
    match kyso_pades::tsp::verify_token(&token, Some(&h.finalize())) {
        Ok(t) => {
            r.intact = true;
            r.digest_algorithm = Some(alg.name().to_string());
            r.timestamp_time = Some(t.info.gen_time().0);
            r.signer = Some(signer_info(&t.tsa_certificate));
        }
        Err(e) => {
            let copied = e.to_string().contains("another value");
            r.indication = Indication::TotalFailed;
            r.sub_indication = Some(if copied { "HASH_FAILURE" } else { "TIMESTAMP_FAILURE" }.into());
            if copied {
                r.attacks.push(Attack::Usf);
            }
            r.messages.push(msg("dấu thời gian tài liệu không khớp với tài liệu", e.to_string()));
        }
    }
}

/// What the report shows of a signing certificate (the path is filled in later).
fn signer_info(cert: &Certificate) -> Signer {
    let v = cert.tbs_certificate().validity();
    Signer {
        name: subject_cn(cert),
        organization: cert.tbs_certificate().subject().organization().ok().flatten().map(|o| o.value().into_owned()),
        issuer: cert.tbs_certificate().issuer().to_string(),
        certificate_sha256: cert
            .to_der()
            .map(|d| kyso_keys::DigestAlgorithm::Sha256.digest(&d).iter().map(|b| format!("{b:02x}")).collect())
            .unwrap_or_default(),
        not_before: v.not_before.to_string(),
        not_after: v.not_after.to_string(),
        chain: Vec::new(),
    }
}

fn subject_cn(c: &Certificate) -> String {
    match c.tbs_certificate().subject().common_name() {
        Ok(Some(cn)) => cn.value().into_owned(),
        _ => c.tbs_certificate().subject().to_string(),
    }
}

/// A FieldMDP lock from the signature's /Reference.
struct Lock {
    action: Vec<u8>,
    fields: Vec<String>,
}

impl Lock {
    fn locks(&self, name: &str) -> bool {
        match self.action.as_slice() {
            b"All" => true,
            b"Include" => self.fields.iter().any(|f| f == name),
            b"Exclude" => !self.fields.iter().any(|f| f == name),
            _ => false,
        }
    }
}

fn field_locks(doc: &mut Document<View>, sig: &kyso_pdf::Dict) -> Option<Lock> {
    let refs = doc.resolve(sig.get(b"Reference")?).ok()?;
    for r in refs.as_array().cloned().unwrap_or_default() {
        let sr = doc.resolve_dict(Some(&r)).ok()??;
        if sr.name(b"TransformMethod") != Some(b"FieldMDP") {
            continue;
        }
        let params = doc.resolve_dict(sr.get(b"TransformParams")).ok()??;
        let fields = params.get(b"Fields").and_then(|f| doc.resolve(f).ok()).and_then(|f| f.as_array().cloned()).unwrap_or_default();
        return Some(Lock {
            action: params.name(b"Action").unwrap_or(b"").to_vec(),
            fields: fields.iter().filter_map(Object::as_bytes).map(kyso_pdf::fields::decode_text).collect(),
        });
    }
    None
}

/// The certificates each signature carries (CMS and its timestamp token), for building a DSS.
pub fn signature_certificates(data: &[u8]) -> Result<Vec<Vec<Certificate>>, Error> {
    signature_certificates_of(Input::Memory(data))
}

/// [`signature_certificates`] of a file read by range.
pub fn signature_certificates_of(data: Input) -> Result<Vec<Vec<Certificate>>, Error> {
    let mut doc = Document::open(data.view(data.len()))?;
    let mut out = Vec::new();
    for field in doc.fields()?.into_iter().filter(|f| f.field_type.as_deref() == Some("Sig")) {
        let Some(sig) = field.signature.and_then(|r| doc.resolve_dict(Some(&Object::Ref(r))).ok().flatten()) else { continue };
        let Some(contents) = sig.get(b"Contents").and_then(Object::as_bytes) else { continue };
        let Ok(sd) = cms_check::parse(contents) else { continue };
        let mut certs = kyso_pades::certinfo::certificates_of(&sd);
        for si in sd.signer_infos.0.iter() {
            for a in si.unsigned_attrs.iter().flat_map(|u| u.iter()).filter(|a| a.oid == const_oid::db::rfc3161::ID_AA_TIME_STAMP_TOKEN) {
                if let Some(token) = a.values.iter().next().and_then(|v| v.decode_as::<cms::content_info::ContentInfo>().ok())
                    && let Ok(t) = kyso_pades::tsp::verify_token(&token, None)
                {
                    certs.extend(t.certificates);
                }
            }
        }
        out.push(certs);
    }
    Ok(out)
}
