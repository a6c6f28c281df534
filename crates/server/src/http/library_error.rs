//! How the library's refusals answer: the status and the Vietnamese sentence beside the English
//! one, chosen here at the edge for the REST API and the pages alike.

use crate::http::error::{ApiError, vi_field};
use axum::http::StatusCode;
use kyso_library::{LibraryError as E, LoanRule, Rule};

fn vi_rule(rule: &Rule) -> String {
    match rule {
        Rule::Isbn(v) => format!("{v:?} không phải ISBN hợp lệ (10 hoặc 13 chữ số, chữ số kiểm tra đúng)"),
        Rule::Required => "không được để trống".into(),
        Rule::OneOf { value, allowed } => format!("{value:?} không thuộc: {allowed}"),
        Rule::CodeFormat => "từ 1 đến 32 ký tự: chữ cái, chữ số, '-', '.' hoặc '/'".into(),
        Rule::Range { min, max } => format!("số nguyên từ {min} đến {max}"),
        Rule::DateFormat => "ngày viết dạng YYYY-MM-DD".into(),
        _ => "giá trị không hợp lệ".into(),
    }
}

fn vi_loan_rule(rule: &LoanRule) -> String {
    match rule {
        LoanRule::MaxItems { limit, .. } => format!("bạn đọc đang mượn {limit} cuốn, số tối đa theo quy định"),
        LoanRule::MaxRenewals { limit } => format!("đã gia hạn {limit} lần, số lần tối đa"),
        LoanRule::Overdue => "bạn đọc có sách quá hạn: cần trả trước khi mượn tiếp".into(),
        LoanRule::WaitedFor => "có bạn đọc khác đang chờ đầu sách này: không gia hạn được".into(),
        LoanRule::InactiveCard => "thẻ thư viện của bạn đọc không còn hiệu lực".into(),
        LoanRule::NoRule(t) => format!("thư viện chưa đặt quy định mượn cho bạn đọc loại {t}"),
        _ => "không đúng quy định mượn".into(),
    }
}

fn vi_state(state: &str) -> &str {
    match state {
        "available" => "sẵn sàng",
        "on_loan" => "đang cho mượn",
        "reserved" => "đang giữ cho bạn đọc",
        "in_repair" => "đang sửa chữa",
        "lost" => "bị mất",
        "withdrawn" => "đã thanh lý",
        other => other,
    }
}

impl From<E> for ApiError {
    fn from(e: E) -> Self {
        let en = e.to_string();
        match e {
            E::Store(s) => s.into(),
            E::Org(o) => o.into(),
            E::NotFound(what) => Self::not_found(what),
            E::NotLibrarian => Self::forbidden(en, "chỉ cán bộ thư viện của trường mới làm được việc này"),
            E::Invalid { field, rule } => Self::bad_request(en, format!("{}: {}", vi_field(field), vi_rule(&rule))),
            E::Unreadable(reason) => {
                Self::unprocessable("unreadable_marc", en, format!("tệp không phải biểu ghi MARC21 đọc được: {reason}"))
            }
            E::NoSuchCopy(b) => Self::new(StatusCode::NOT_FOUND, "no_such_copy", en, format!("không có bản sách mã {b} trong thư viện")),
            E::NoSuchReader(c) => {
                Self::new(StatusCode::NOT_FOUND, "no_such_reader", en, format!("không có bạn đọc thẻ {c} trong thư viện"))
            }
            E::NotLendable { barcode, state } => {
                Self::new(StatusCode::CONFLICT, "not_lendable", en, format!("bản sách {barcode} không cho mượn được: {}", vi_state(&state)))
            }
            E::AlreadyOnLoan(b) => Self::new(StatusCode::CONFLICT, "already_on_loan", en, format!("bản sách {b} đang được mượn")),
            E::NotOnLoan(b) => Self::new(StatusCode::CONFLICT, "not_on_loan", en, format!("bản sách {b} không ở trạng thái đang mượn")),
            E::HeldForAnother { barcode, reader } => Self::new(
                StatusCode::CONFLICT,
                "held_for_another",
                en,
                format!("bản sách {barcode} đang được giữ cho bạn đọc khác ({reader})"),
            ),
            E::Refused(rule) => Self::new(StatusCode::CONFLICT, "loan_rule", en, vi_loan_rule(&rule)),
            E::BarcodeTaken(b) => Self::new(StatusCode::CONFLICT, "barcode_taken", en, format!("đã có bản sách mã {b} trong thư viện")),
            E::CardTaken(c) => Self::new(StatusCode::CONFLICT, "card_taken", en, format!("đã có bạn đọc thẻ {c} trong thư viện")),
            other => Self::internal("handling the request", other),
        }
    }
}
