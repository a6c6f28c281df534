//! The validation report: plain data, one entry per signature, with the ETSI TS 119 102-1
//! indications. Rendering (text, JSON) lives in `kyso-report`.

/// ETSI EN 319 102-1 main indication.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Indication {
    TotalPassed,
    TotalFailed,
    Indeterminate,
}

impl Indication {
    pub fn as_str(self) -> &'static str {
        match self {
            Indication::TotalPassed => "TOTAL-PASSED",
            Indication::TotalFailed => "TOTAL-FAILED",
            Indication::Indeterminate => "INDETERMINATE",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// The signature covers every byte of the file but its own /Contents.
    EntireFile,
    /// It covers a whole earlier revision; later updates follow.
    EntireRevision,
    /// It stops inside a revision: some signed-looking bytes are not signed.
    Partial,
    /// The ByteRange is malformed.
    Unclear,
}

impl Coverage {
    pub fn as_str(self) -> &'static str {
        match self {
            Coverage::EntireFile => "ENTIRE_FILE",
            Coverage::EntireRevision => "ENTIRE_REVISION",
            Coverage::Partial => "PARTIAL",
            Coverage::Unclear => "UNCLEAR",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modifications {
    None,
    Permitted,
    Disallowed,
}

impl Modifications {
    pub fn as_str(self) -> &'static str {
        match self {
            Modifications::None => "NONE",
            Modifications::Permitted => "PERMITTED",
            Modifications::Disallowed => "DISALLOWED",
        }
    }
}

/// Known attack patterns, named after the literature (see ../shared/BRIEF.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Attack {
    /// Universal signature forgery: broken /ByteRange, /Contents or CMS shown as valid.
    Usf,
    /// Signature wrapping: bytes hidden in the unsigned gap.
    Swa,
    /// Incremental saving: content appended after signing.
    Isa,
    /// Shadow hide / replace / hide-and-replace: signed objects redefined later.
    Shadow,
    /// Evil annotation / sneaky signature under a certification signature.
    CertificationAbuse,
    /// A later revision rewrote the signature dictionary.
    DictionarySpoofing,
    /// Encapsulated content under a detached SubFilter.
    EncapsulatedContent,
    /// A hybrid-reference file whose table and `/XRefStm` readings resolve objects differently:
    /// a PDF 1.4 reader and a PDF 1.5 reader show different documents (parser differential).
    XrefDifferential,
}

impl Attack {
    pub fn as_str(self) -> &'static str {
        match self {
            Attack::Usf => "USF",
            Attack::Swa => "SWA",
            Attack::Isa => "ISA",
            Attack::Shadow => "SHADOW",
            Attack::CertificationAbuse => "EAA_SSA",
            Attack::DictionarySpoofing => "DICTIONARY_SPOOFING",
            Attack::EncapsulatedContent => "ENCAPSULATED_CONTENT",
            Attack::XrefDifferential => "XREF_DIFFERENTIAL",
        }
    }

    /// The attack's name for people, in Vietnamese and in English.
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            Attack::Usf => ("giả mạo chữ ký toàn phần (USF)", "universal signature forgery (USF)"),
            Attack::Swa => {
                ("bọc chữ ký (SWA): dữ liệu giấu trong vùng không ký", "signature wrapping (SWA): bytes hidden in the unsigned gap")
            }
            Attack::Isa => ("lưu gia tăng (ISA): nội dung thêm sau khi ký", "incremental saving (ISA): content added after signing"),
            Attack::Shadow => {
                ("tấn công bóng (shadow): nội dung đã ký bị thay hoặc che", "shadow attack: signed content hidden or replaced")
            }
            Attack::CertificationAbuse => (
                "lạm dụng chứng thực (EAA/SSA): chú thích hoặc chữ ký vẽ đè nội dung",
                "certification abuse (EAA/SSA): annotations or signatures painting over content",
            ),
            Attack::DictionarySpoofing => ("giả mạo từ điển chữ ký", "signature dictionary spoofing"),
            Attack::EncapsulatedContent => ("CMS tách rời lại chứa nội dung", "encapsulated content under a detached signature"),
            Attack::XrefDifferential => (
                "vi sai tham chiếu chéo: trình đọc khác nhau thấy tài liệu khác nhau",
                "cross-reference differential: different readers see different documents",
            ),
        }
    }
}

/// What was learned about the signer's certificate.
#[derive(Clone, Debug, Default)]
pub struct Signer {
    pub name: String,
    pub organization: Option<String>,
    pub issuer: String,
    pub certificate_sha256: String,
    pub not_before: String,
    pub not_after: String,
    /// Subjects from the signer up to the trust anchor, when a path was found.
    pub chain: Vec<String>,
}

/// A message for people, in both languages.
#[derive(Clone, Debug)]
pub struct Message {
    pub vi: String,
    pub en: String,
}

#[derive(Clone, Debug)]
pub struct SignatureReport {
    pub field: String,
    pub subfilter: String,
    pub signer: Option<Signer>,
    /// The claimed time (/M), as written.
    pub signing_time: Option<String>,
    pub timestamp_time: Option<String>,
    pub level: String,
    pub indication: Indication,
    pub sub_indication: Option<String>,
    pub intact: bool,
    pub coverage: Coverage,
    pub modifications: Modifications,
    pub attacks: Vec<Attack>,
    pub messages: Vec<Message>,
    pub digest_algorithm: Option<String>,
    pub trusted: bool,
    /// The DocMDP level if this is a certification signature.
    pub certification: Option<i64>,
    /// Byte offset where the signed revision ends.
    pub revision_end: u64,
}

#[derive(Clone, Debug)]
pub struct Report {
    pub revisions: usize,
    pub certification: Option<i64>,
    pub signatures: Vec<SignatureReport>,
    /// Document-level findings (hybrid references, damaged structure).
    pub messages: Vec<Message>,
}

impl Report {
    /// The worst indication over all signatures; no signature at all is INDETERMINATE.
    pub fn overall(&self) -> Indication {
        if self.signatures.is_empty() {
            return Indication::Indeterminate;
        }
        if self.signatures.iter().any(|s| s.indication == Indication::TotalFailed) {
            Indication::TotalFailed
        } else if self.signatures.iter().any(|s| s.indication == Indication::Indeterminate) {
            Indication::Indeterminate
        } else {
            Indication::TotalPassed
        }
    }
}

pub(crate) fn msg(vi: impl Into<String>, en: impl Into<String>) -> Message {
    Message { vi: vi.into(), en: en.into() }
}
