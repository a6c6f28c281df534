//! The dashboard as a spreadsheet (xlsx, through `rust_xlsxwriter`) and as CSV (UTF-8 with a
//! byte-order mark, so Excel opens Vietnamese text correctly). Both carry the same numbers as
//! the page: the summary first, then one line per obligation.

use crate::dashboard::{Line, STATUSES, Summary};
use crate::error::{RecordsError, Result};
use rust_xlsxwriter::{Format, Workbook};

/// The Vietnamese column heading of each status.
pub fn status_vi(status: &str) -> &'static str {
    match status {
        "missing" => "Chưa nộp",
        "overdue" => "Quá hạn",
        "draft" => "Chưa ký",
        "submitted" => "Đã nộp",
        "in_approval" => "Đang duyệt",
        "returned" => "Bị trả lại",
        "signed" => "Đã ký đủ",
        _ => "Tổng",
    }
}

fn csv_field(s: &str) -> String {
    // Quoted always; a leading formula character is neutralised (CSV injection).
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The summary rows as CSV.
pub fn summary_csv(s: &Summary) -> String {
    let mut out = String::from("\u{feff}");
    let mut head = vec![csv_field("Đơn vị / Unit")];
    head.extend(STATUSES.iter().map(|st| csv_field(status_vi(st))));
    head.push(csv_field("Tổng"));
    out += &head.join(",");
    out += "\r\n";
    for r in s.rows.iter().map(|r| (&r.label, &r.counts)).chain(std::iter::once((&"Tổng cộng".to_string(), &s.total))) {
        let mut line = vec![csv_field(r.0)];
        line.extend(STATUSES.iter().map(|st| r.1.get(st).to_string()));
        line.push(r.1.total.to_string());
        out += &line.join(",");
        out += "\r\n";
    }
    out
}

/// One obligation's cells, in the order of both exports' columns.
fn line_fields(l: &Line) -> [String; 8] {
    [
        l.register_name.clone(),
        l.owner_name.clone(),
        l.unit_name.clone(),
        l.school_name.clone(),
        l.period.clone(),
        kyso_clock::vietnam_date(l.due_at),
        status_vi(&l.status).to_string(),
        l.document_id.clone().unwrap_or_default(),
    ]
}

/// The obligations as CSV.
pub fn lines_csv(lines: &[Line]) -> String {
    let mut out = String::from("\u{feff}");
    out += "\"Sổ\",\"Người/đơn vị phải nộp\",\"Đơn vị\",\"Trường\",\"Kỳ\",\"Hạn\",\"Trạng thái\",\"Mã văn bản\"\r\n";
    for l in lines {
        let fields = line_fields(l);
        out += &fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
        out += "\r\n";
    }
    out
}

fn xlsx_error(e: rust_xlsxwriter::XlsxError) -> RecordsError {
    RecordsError::Spreadsheet(e.to_string())
}

/// A workbook with two sheets: "Tổng hợp" (the summary) and "Chi tiết" (the obligations).
pub fn xlsx(s: &Summary, lines: &[Line]) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let sheet = book.add_worksheet().set_name("Tổng hợp").map_err(xlsx_error)?;
    sheet.write_string_with_format(0, 0, format!("Tình hình hoàn thành hồ sơ — {}", s.scope_name), &bold).map_err(xlsx_error)?;
    sheet.write_string_with_format(2, 0, "Đơn vị", &bold).map_err(xlsx_error)?;
    for (i, st) in STATUSES.iter().enumerate() {
        sheet.write_string_with_format(2, i as u16 + 1, status_vi(st), &bold).map_err(xlsx_error)?;
    }
    sheet.write_string_with_format(2, STATUSES.len() as u16 + 1, "Tổng", &bold).map_err(xlsx_error)?;
    let rows = s.rows.iter().map(|r| (r.label.as_str(), &r.counts)).chain(std::iter::once(("Tổng cộng", &s.total)));
    for (row, (label, counts)) in (3..).zip(rows) {
        sheet.write_string(row, 0, label).map_err(xlsx_error)?;
        for (i, st) in STATUSES.iter().enumerate() {
            sheet.write_number(row, i as u16 + 1, counts.get(st) as f64).map_err(xlsx_error)?;
        }
        sheet.write_number(row, STATUSES.len() as u16 + 1, counts.total as f64).map_err(xlsx_error)?;
    }
    sheet.set_column_width(0, 40).map_err(xlsx_error)?;
    let detail = book.add_worksheet().set_name("Chi tiết").map_err(xlsx_error)?;
    for (i, h) in ["Sổ", "Người/đơn vị phải nộp", "Đơn vị", "Trường", "Kỳ", "Hạn", "Trạng thái", "Mã văn bản"].iter().enumerate()
    {
        detail.write_string_with_format(0, i as u16, *h, &bold).map_err(xlsx_error)?;
    }
    for (r, l) in lines.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, v) in line_fields(l).iter().enumerate() {
            detail.write_string(r, c as u16, v.as_str()).map_err(xlsx_error)?;
        }
    }
    detail.set_column_width(0, 40).map_err(xlsx_error)?;
    detail.set_column_width(1, 28).map_err(xlsx_error)?;
    book.save_to_buffer().map_err(xlsx_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_field("Tổ \"Văn\""), "\"Tổ \"\"Văn\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "\"'=HYPERLINK(1)\"");
    }
}
