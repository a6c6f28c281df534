//! The one place where an outcome becomes an HTTP status and a bilingual message:
//! `{"error": {"code": "...", "message": "...", "message_vi": "..."}}`. Domain errors arrive typed;
//! internal causes go to the log, never to the caller.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kyso_org::{InputRule, OrgError, PasswordRule, Refusal as OrgRefusal};
use kyso_signers::SignersError;
use kyso_store::StoreError;
use kyso_workflow::{PlanProblem, Refusal as DocRefusal, TemplateRule, WorkflowError};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, machine-readable: clients branch on it.
    pub code: &'static str,
    pub en: String,
    pub vi: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, en: impl Into<String>, vi: impl Into<String>) -> Self {
        ApiError { status, code, en: en.into(), vi: vi.into() }
    }
    pub fn bad_request(en: impl Into<String>, vi: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", en, vi)
    }
    /// A form field or small file over its limit (`what` in English; the Vietnamese is generic).
    pub fn too_large(limit: u64, what: &str) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the {what} is larger than {} KB", limit / 1024),
            format!("nội dung gửi lên vượt quá giới hạn {} KB", limit / 1024),
        )
    }
    pub fn forbidden(en: impl Into<String>, vi: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", en, vi)
    }
    /// Also used for what exists but the caller may not see: no hint that it exists.
    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"), format!("không tìm thấy {}", vi_noun(what)))
    }
    pub fn unprocessable(code: &'static str, en: impl Into<String>, vi: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, en, vi)
    }
    /// An internal failure: the details go to the log, the caller gets a plain sentence.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(context, error = %err, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("internal error while {context}; nothing was changed"),
            format!("lỗi nội bộ khi {}; không có thay đổi nào", vi_context(context)),
        )
    }
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({"error": {"code": self.code, "message": self.en, "message_vi": self.vi}})
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.en, self.code)
    }
}

impl std::error::Error for ApiError {}

fn vi_noun(what: &str) -> &str {
    match what {
        "document" => "văn bản",
        "template" => "mẫu quy trình",
        "user" => "người dùng",
        "version" => "phiên bản",
        "organisation" => "đơn vị",
        "route" => "đường dẫn",
        "operation" => "thao tác",
        "delegation" => "ủy quyền",
        "API client" => "ứng dụng",
        "page" => "trang",
        "unit" => "đơn vị",
        "school" => "trường",
        "school year" => "năm học",
        "record" => "hồ sơ",
        "title" => "đầu sách",
        "reader" => "bạn đọc",
        "person" => "người dùng",
        "library" => "thư viện",
        "stocktake" => "đợt kiểm kê",
        other => other,
    }
}

fn vi_context(context: &str) -> &str {
    match context {
        "using the database" => "truy cập cơ sở dữ liệu",
        "storing a document" | "storing the upload" | "storing the signed document" | "storing signed documents" => "lưu văn bản",
        "reading a stored document" => "đọc văn bản đã lưu",
        "signing" => "ký",
        "validating" => "kiểm tra chữ ký",
        _ => "xử lý yêu cầu",
    }
}

/// A field's name for people.
pub fn vi_field(field: &str) -> &str {
    match field {
        "title" => "tiêu đề",
        "reason" => "lý do",
        "name" => "tên",
        "full_name" => "họ tên",
        "username" => "tên đăng nhập",
        "password" => "mật khẩu",
        "level" => "cấp",
        "valid_days" => "số ngày hiệu lực",
        "scopes" => "quyền",
        "id_number" => "số định danh",
        "memberships" => "vai trò",
        "role" => "vai trò",
        "valid_until" => "thời hạn",
        "override_reason" => "lý do chấp nhận ngoại lệ",
        "code" => "mã sổ",
        "semesters" => "học kỳ",
        "education_level" => "cấp học",
        "levels" => "cấp học",
        "formats" => "định dạng",
        "frequency" => "định kỳ",
        "owner_type" => "người phải nộp",
        "due" => "hạn nộp",
        "citation" => "căn cứ",
        "name_vi" => "tên tiếng Việt",
        "name_en" => "tên tiếng Anh",
        "responsibility" => "tác giả",
        "publisher" => "nhà xuất bản",
        "place" => "nơi xuất bản",
        "edition" => "lần xuất bản",
        "language" => "ngôn ngữ",
        "classification" => "ký hiệu phân loại",
        "subjects" => "chủ đề",
        "summary" => "tóm tắt",
        "location" => "kho",
        "call_number" => "ký hiệu xếp giá",
        "call_numbers" => "khoảng ký hiệu xếp giá",
        "source" => "chứng từ nhập",
        "class_name" => "lớp",
        "barcode" | "barcodes" => "mã sách",
        "card_number" => "số thẻ",
        "year" => "năm xuất bản",
        "count" => "số bản",
        "price" => "giá",
        "kind" => "loại",
        "state" => "trạng thái",
        "reader_type" => "loại bạn đọc",
        "max_items" => "số cuốn tối đa",
        "loan_days" => "số ngày mượn",
        "max_renewals" => "số lần gia hạn",
        "acquired_on" => "ngày nhập",
        "date" => "ngày",
        "label" => "tên ngày nghỉ",
        "hold" => "đặt mượn",
        "stocktake" => "đợt kiểm kê",
        other => other,
    }
}

fn vi_rule(rule: &InputRule) -> String {
    match rule {
        InputRule::Empty => "không được để trống".into(),
        InputRule::TooLong(n) => format!("tối đa {n} ký tự"),
        InputRule::ControlCharacters => "không được chứa ký tự điều khiển".into(),
        InputRule::InvisibleCharacters => "không được chứa ký tự ẩn hoặc ký tự đổi chiều văn bản".into(),
        InputRule::Format(f) => match *f {
            "3 to 64 lower-case letters, digits, '.', '_' or '-'" => "gồm 3–64 chữ thường không dấu, chữ số, '.', '_' hoặc '-'".into(),
            "9 to 13 digits (CMND, CCCD or tax code)" => "gồm 9–13 chữ số (CMND, CCCD hoặc mã số thuế)".into(),
            "one or more of documents:read, documents:submit, verify, audit:read" => {
                "một hoặc nhiều quyền: documents:read, documents:submit, verify, audit:read".into()
            }
            other => other.into(),
        },
        InputRule::OutOfRange { min, max } => format!("phải từ {min} đến {max}"),
        InputRule::Unknown(v) => format!("giá trị không hợp lệ: {v}"),
        other => other.to_string(),
    }
}

fn vi_password(rule: PasswordRule) -> &'static str {
    match rule {
        PasswordRule::TooShort => "ít nhất 10 ký tự",
        PasswordRule::TooLong => "tối đa 1024 ký tự",
        PasswordRule::Blank => "không chỉ gồm dấu cách",
        PasswordRule::SameAsUsername => "khác tên đăng nhập",
        PasswordRule::Common => "không phải mật khẩu phổ biến",
        PasswordRule::TooRepetitive => "có ít nhất 5 ký tự khác nhau",
        _ => "đủ mạnh",
    }
}

fn vi_org_refusal(r: OrgRefusal) -> String {
    match r {
        OrgRefusal::PersonOnly => "chỉ người dùng mới được làm việc này, không phải ứng dụng".into(),
        OrgRefusal::MissingScope(s) => format!("ứng dụng này không có quyền {s}"),
        OrgRefusal::NotAdministrator => "chỉ quản trị viên của đơn vị đó (hoặc cấp trên) mới được làm việc này".into(),
        OrgRefusal::NotTopAdministrator => "chỉ quản trị viên cấp Sở mới được làm việc này".into(),
        OrgRefusal::NotYourRole => "chỉ được ủy quyền vai trò mà bạn đang giữ tại đơn vị đó".into(),
        OrgRefusal::DelegateOutsideUnit => "người được ủy quyền phải làm việc tại cùng đơn vị (hoặc đơn vị trực thuộc)".into(),
        OrgRefusal::DelegateToSelf => "không thể tự ủy quyền cho chính mình".into(),
        OrgRefusal::NotDelegator => "chỉ người ủy quyền (hoặc quản trị viên) mới được thu hồi ủy quyền".into(),
        OrgRefusal::DisableSelf => "không thể tự khóa tài khoản của mình".into(),
        OrgRefusal::NotAuditor => "chỉ kiểm tra viên và quản trị viên được xem nhật ký".into(),
        _ => "không được phép".into(),
    }
}

fn when(unix: i64) -> String {
    kyso_clock::vietnam_date_time(unix)
}

impl From<OrgError> for ApiError {
    fn from(e: OrgError) -> Self {
        let en = e.to_string();
        match e {
            OrgError::Store(s) => s.into(),
            OrgError::Unauthenticated => Self::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "log in first: send Authorization: Bearer <token>",
                "cần đăng nhập: gửi Authorization: Bearer <token>",
            ),
            OrgError::InvalidToken => Self::new(StatusCode::UNAUTHORIZED, "invalid_token", en, "mã truy cập không hợp lệ"),
            OrgError::TokenExpired => Self::new(StatusCode::UNAUTHORIZED, "token_expired", en, "mã truy cập đã hết hạn: hãy đăng nhập lại"),
            OrgError::InvalidCredentials => {
                Self::new(StatusCode::UNAUTHORIZED, "invalid_credentials", en, "sai tên đăng nhập hoặc mật khẩu")
            }
            OrgError::AccountLocked { until } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "account_locked",
                format!("too many wrong passwords: the account is locked until {} (Vietnam time)", when(until)),
                format!("nhập sai mật khẩu quá nhiều lần: tài khoản bị khóa đến {}", when(until)),
            ),
            OrgError::AddressThrottled { until } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many failed logins from this address: try again after {} (Vietnam time)", when(until)),
                format!("quá nhiều lần đăng nhập sai từ địa chỉ này: hãy thử lại sau {}", when(until)),
            ),
            OrgError::AccountDisabled => {
                Self::new(StatusCode::FORBIDDEN, "account_disabled", en, "tài khoản này đã bị khóa: hãy liên hệ quản trị viên")
            }
            OrgError::NotFound(what) => Self::not_found(what),
            OrgError::Forbidden(r) => Self::new(StatusCode::FORBIDDEN, "forbidden", en, vi_org_refusal(r)),
            OrgError::Invalid { field, ref rule } => Self::bad_request(en.clone(), format!("{}: {}", vi_field(field), vi_rule(rule))),
            OrgError::UsernameTaken => Self::new(StatusCode::CONFLICT, "username_taken", en, "tên đăng nhập này đã có người dùng"),
            OrgError::WeakPassword(r) => {
                Self::bad_request(format!("the password must have {r}"), format!("mật khẩu phải {}", vi_password(r)))
            }
            OrgError::Cpu(c) => c.into(),
            OrgError::Password(m) => Self::internal("checking a password", m),
            other => Self::internal("handling the request", other),
        }
    }
}

impl From<kyso_store::CpuError> for ApiError {
    fn from(e: kyso_store::CpuError) -> Self {
        match e {
            kyso_store::CpuError::Busy { running } => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!("too many requests of yours are being worked on at once ({running}): wait for them to finish"),
                format!("bạn đang có quá nhiều yêu cầu được xử lý cùng lúc ({running}): hãy đợi chúng xong"),
            ),
            other => Self::internal("working on the request", other),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TooLarge { limit } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the upload is larger than the limit of {} MB", limit / (1 << 20)),
                format!("tệp tải lên vượt quá giới hạn {} MB", limit / (1 << 20)),
            ),
            StoreError::Blob(io) => Self::internal("storing a document", io),
            other => Self::internal("using the database", other),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::internal("using the database", e)
    }
}

impl From<SignersError> for ApiError {
    fn from(e: SignersError) -> Self {
        let en = e.to_string();
        match e {
            SignersError::Org(o) => o.into(),
            SignersError::Store(s) => s.into(),
            SignersError::UnknownSource(m) => Self::bad_request(m.clone(), format!("nguồn khóa không có trong cấu hình của máy chủ: {m}")),
            SignersError::PathNotAccepted(_) => Self::bad_request(
                en,
                "khóa ký chỉ được chọn trong các nguồn mà người vận hành đã khai báo (hsm, provider, keystore); không bao giờ nhận đường dẫn tệp hay thư viện qua API",
            ),
            SignersError::NoKeystore => Self::unprocessable(
                "no_keystore",
                en,
                "máy chủ chưa cấu hình kho khóa: người vận hành cần khai báo [keystore] kek_env trong kyso.toml",
            ),
            SignersError::Unusable(m) => Self::unprocessable(
                "signing_key_unusable",
                format!("the signing key cannot be used: {m}"),
                format!("không dùng được khóa ký: {m}"),
            ),
            SignersError::IdentityMismatch(m) => Self::unprocessable(
                "certificate_mismatch",
                en,
                format!("chứng thư số không thuộc về người này: {m} (chỉ chấp nhận khi có lý do ngoại lệ được ghi nhật ký)"),
            ),
            SignersError::ProofFailed(m) => {
                Self::unprocessable("key_proof_failed", en, format!("khóa không chứng minh được quyền sở hữu chứng thư: {m}"))
            }
            SignersError::NoKey => Self::unprocessable("no_signing_key", en, "bạn chưa được cấu hình khóa ký: hãy liên hệ quản trị viên"),
            SignersError::NotConfirmed => Self::unprocessable(
                "key_not_confirmed",
                en,
                "khóa ký của bạn chưa được xác nhận: hãy xác nhận một lần (ký một chuỗi thử) trước khi ký văn bản",
            ),
            SignersError::CertificateReplaced { .. } => Self::unprocessable(
                "certificate_replaced",
                en,
                "khóa ký đang dùng một chứng thư số khác với chứng thư đã đăng ký: không thể ký cho đến khi quản trị viên gán lại",
            ),
            SignersError::KeystoreCorrupt => Self::internal("opening a stored key", en),
            other => Self::internal("opening a signing key", other),
        }
    }
}

fn vi_doc_refusal(r: DocRefusal) -> &'static str {
    match r {
        DocRefusal::NotSubmitter => "chỉ người nộp mới được gửi phiên bản mới",
        DocRefusal::NoOpenStage => "bạn không phụ trách bước nào còn mở trong quy trình của văn bản này",
        DocRefusal::SignedEarlierStage => "bạn đã ký một bước trước trong quy trình này",
        DocRefusal::OutsideClient => "người này không thuộc đơn vị của ứng dụng",
        DocRefusal::NoRoleThere => "bạn không có vai trò tại đơn vị đó",
        DocRefusal::WhichOrganisation => "bạn thuộc nhiều đơn vị: hãy chọn đơn vị (org)",
        DocRefusal::OnBehalfOfNeeded => "ứng dụng phải nộp thay một người: thêm on_behalf_of=TÊN",
        _ => "không được phép",
    }
}

fn vi_plan(p: &PlanProblem) -> String {
    match p {
        PlanProblem::NoStages => "mẫu quy trình không có bước nào".into(),
        PlanProblem::NoUnit { stage, name, levels } => {
            format!("bước {stage} ({name}) cần một đơn vị cấp {levels} phía trên người nộp, nhưng không có")
        }
        PlanProblem::NoHolder { stage, name, role, org } => format!("không ai giữ vai trò {role} tại {org} cho bước {stage} ({name})"),
    }
}

fn vi_template(rule: &TemplateRule) -> String {
    match rule {
        TemplateRule::StageCount => "mẫu quy trình có từ 1 đến 20 bước".into(),
        TemplateRule::Name => "bước cần có tên (tối đa 200 ký tự)".into(),
        TemplateRule::FieldName => "tên trường ký gồm 1–64 chữ cái ASCII, chữ số, dấu cách, '_' hoặc '-'".into(),
        TemplateRule::DuplicateField(f) => format!("tên trường {f} bị trùng"),
        TemplateRule::UnknownRole(r) => format!("vai trò không hợp lệ {r}"),
        TemplateRule::Levels => "bước cần ít nhất một cấp đơn vị".into(),
        TemplateRule::Days => "số ngày phải từ 1 đến 365".into(),
        TemplateRule::Id => "mã mẫu quy trình gồm 1–64 chữ thường, chữ số hoặc '-'".into(),
    }
}

impl From<WorkflowError> for ApiError {
    fn from(e: WorkflowError) -> Self {
        let en = e.to_string();
        match e {
            WorkflowError::Org(o) => o.into(),
            WorkflowError::Store(s) => s.into(),
            WorkflowError::Signers(s) => s.into(),
            WorkflowError::NotFound(what) => Self::not_found(what),
            WorkflowError::Forbidden(r) => Self::forbidden(en, vi_doc_refusal(r)),
            WorkflowError::NotYourTurn { waiting } => {
                Self::new(StatusCode::CONFLICT, "not_your_turn", en, format!("chưa đến lượt bạn: bước \"{waiting}\" phải ký trước"))
            }
            WorkflowError::Completed => {
                Self::new(StatusCode::CONFLICT, "document_completed", en, "quy trình đã hoàn tất: văn bản không thể thay đổi")
            }
            WorkflowError::Returned => {
                Self::new(StatusCode::CONFLICT, "not_in_progress", en, "văn bản đã bị trả lại: chờ người nộp gửi phiên bản mới")
            }
            WorkflowError::NotReturned { .. } => {
                Self::new(StatusCode::CONFLICT, "not_returned", en, "chỉ gửi phiên bản mới khi văn bản đã bị trả lại")
            }
            WorkflowError::ConcurrentChange => {
                Self::new(StatusCode::CONFLICT, "concurrent_change", en, "văn bản vừa thay đổi: hãy tải lại và thử lại")
            }
            WorkflowError::ChainCannotStart(ref p) => {
                Self::unprocessable("chain_cannot_start", en.clone(), format!("không bắt đầu được quy trình: {}", vi_plan(p)))
            }
            WorkflowError::TemplateInvalid { stage, ref rule } => {
                let at = if stage == 0 { String::new() } else { format!("bước {stage}: ") };
                Self::bad_request(en.clone(), format!("mẫu quy trình không hợp lệ: {at}{}", vi_template(rule)))
            }
            WorkflowError::InvalidPdf(ref p) => {
                Self::unprocessable("invalid_pdf", en.clone(), format!("không dùng được tệp PDF: {}", vi_pdf(p)))
            }
            WorkflowError::EmptyUpload => Self::bad_request(en, "nội dung yêu cầu trống: hãy gửi chính tệp văn bản"),
            WorkflowError::CertificateUnusable(m) => Self::unprocessable(
                "certificate_unusable",
                format!("your certificate cannot sign: {m}"),
                format!("chứng thư số của bạn không dùng để ký được: {m}"),
            ),
            WorkflowError::KeyBackend(k) => Self::new(
                StatusCode::BAD_GATEWAY,
                "key_backend_failed",
                format!("the signing key did not sign: {k}"),
                format!("khóa ký không thực hiện được việc ký: {k}"),
            ),
            WorkflowError::Revocation(kyso_ltv::GateRefusal::Revoked { since }) => Self::unprocessable(
                "certificate_revoked",
                format!("your certificate was revoked (since {since}); signing refused"),
                format!("chứng thư số của bạn đã bị thu hồi (từ {since}); không thể ký"),
            ),
            WorkflowError::Revocation(kyso_ltv::GateRefusal::Unavailable(why)) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "revocation_unavailable",
                format!("the certificate's revocation status cannot be checked now: {why}"),
                format!("chưa kiểm tra được tình trạng thu hồi của chứng thư: {why}"),
            ),
            WorkflowError::AlreadyPending => {
                Self::new(StatusCode::CONFLICT, "already_pending", en, "một yêu cầu ký của bạn cho văn bản này đang chờ xác nhận")
            }
            WorkflowError::CertifyInBatch => Self::bad_request(en, "bước đầu tiên chứng thực văn bản: hãy ký riêng, không ký theo lô"),
            WorkflowError::BatchSize { max } => Self::bad_request(en, format!("cần từ 1 đến {max} mã văn bản")),
            WorkflowError::Cpu(c) => c.into(),
            WorkflowError::Cancelled => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "cancelled", en, "công việc đã bị hủy (máy chủ đang dừng hoặc kết nối bị ngắt)")
            }
            WorkflowError::Internal { context, message } => Self::internal(context, message),
            other => Self::internal("handling the request", other),
        }
    }
}

/// The PDF reader's refusal in Vietnamese (the English is the reader's own).
pub fn vi_pdf(e: &kyso_pdf::Error) -> String {
    match e {
        kyso_pdf::Error::NotPdf(_) => "tệp không phải là PDF".into(),
        kyso_pdf::Error::Encrypted => "tệp PDF được mã hóa: hãy bỏ mật khẩu trước khi trình ký".into(),
        kyso_pdf::Error::XrefDisagreement { objects } => {
            format!(
                "hai cách đọc bảng tham chiếu chéo của tệp cho ra nội dung khác nhau (đối tượng {objects}): hãy lưu lại tệp (in ra PDF) rồi trình ký"
            )
        }
        kyso_pdf::Error::DamagedSigned(_) => "tệp bị hỏng và đã có chữ ký: sửa tệp sẽ làm hỏng chữ ký".into(),
        kyso_pdf::Error::Field(m) => format!("trường chữ ký: {m}"),
        kyso_pdf::Error::Malformed(m) => format!("tệp PDF bị hỏng: {m}"),
        other => other.to_string(),
    }
}

impl From<kyso_records::RecordsError> for ApiError {
    fn from(e: kyso_records::RecordsError) -> Self {
        use kyso_records::{RecordsError as E, Rule};
        let en = e.to_string();
        match e {
            E::Store(s) => s.into(),
            E::Org(o) => o.into(),
            E::Workflow(w) => w.into(),
            E::NotFound(what) => Self::not_found(what),
            E::Forbidden(_) => {
                Self::new(StatusCode::FORBIDDEN, "forbidden", en, "bạn không có quyền thực hiện việc này đối với đơn vị này")
            }
            E::Invalid { field, rule } => {
                let vi = match &rule {
                    Rule::CodeFormat => "gồm 2–64 chữ thường không dấu, chữ số hoặc dấu '-'".to_string(),
                    Rule::OneOf { value, allowed } => format!("{value:?} không thuộc: {allowed}"),
                    Rule::AtLeastOne => "cần ít nhất một giá trị".into(),
                    Rule::YearName => "năm học viết dạng YYYY-YYYY, hai năm liền nhau, ví dụ 2026-2027".into(),
                    Rule::SemesterCount => "từ một đến ba học kỳ".into(),
                    Rule::DateFormat => "ngày viết dạng YYYY-MM-DD".into(),
                    Rule::SemesterOrder => "mỗi học kỳ kết thúc sau khi bắt đầu và sau học kỳ trước".into(),
                    Rule::YearTooLong => "một năm học dài tối đa 400 ngày".into(),
                    Rule::NoSuchTemplate(t) => format!("không có quy trình ký {t:?}"),
                    _ => "giá trị không hợp lệ".into(),
                };
                Self::bad_request(en, format!("{}: {vi}", vi_field(field)))
            }
            E::YearExists(name) => Self::new(StatusCode::CONFLICT, "year_exists", en, format!("năm học {name} của trường đã được mở")),
            E::AlreadySubmitted => Self::new(
                StatusCode::CONFLICT,
                "already_submitted",
                en,
                "hồ sơ này đã được nộp: hãy mở văn bản để theo dõi hoặc gửi phiên bản mới",
            ),
            E::Spreadsheet(m) => Self::internal("writing the spreadsheet", m),
            other => Self::internal("handling the request", other),
        }
    }
}
