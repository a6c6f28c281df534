//! The words pages use for the domain's codes (roles, statuses, verdicts), in both languages.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    pub fn t<'a>(&self, vi: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Vi => vi,
            Lang::En => en,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    pub fn other_code(&self) -> &'static str {
        match self {
            Lang::Vi => "en",
            Lang::En => "vi",
        }
    }

    pub fn role(&self, role: &str) -> String {
        let (vi, en) = match role {
            "teacher" => ("Giáo viên", "Teacher"),
            "homeroom_teacher" => ("Giáo viên chủ nhiệm", "Homeroom teacher"),
            "head_of_group" => ("Tổ trưởng chuyên môn", "Head of subject group"),
            "vice_principal" => ("Phó hiệu trưởng", "Vice principal"),
            "principal" => ("Hiệu trưởng", "Principal"),
            "district_officer" => ("Chuyên viên Phòng GD&ĐT", "District officer"),
            "department_officer" => ("Chuyên viên Sở GD&ĐT", "Department officer"),
            "librarian" => ("Nhân viên thư viện", "Librarian"),
            "auditor" => ("Thanh tra, kiểm định", "Auditor"),
            "admin" => ("Quản trị viên", "Administrator"),
            "staff" => ("Nhân viên", "Staff"),
            "student" => ("Học sinh", "Student"),
            other => (other, other),
        };
        self.t(vi, en).to_string()
    }

    /// A unit's level in the tree.
    pub fn level(&self, level: &str) -> String {
        let (vi, en) = match level {
            "department" => ("Sở GD&ĐT", "Department of education"),
            "district" => ("Phòng GD&ĐT", "District office"),
            "school" => ("Trường", "School"),
            "group" => ("Tổ chuyên môn", "Subject group"),
            "library" => ("Thư viện", "Library"),
            other => (other, other),
        };
        self.t(vi, en).to_string()
    }

    /// A document's status, and the tag colour that goes with it.
    pub fn status(&self, status: &str) -> (String, &'static str) {
        let (vi, en, kind) = match status {
            "in_progress" => ("Đang trình ký", "In approval", "warn"),
            "returned" => ("Bị trả lại", "Returned", "bad"),
            "completed" => ("Đã ký xong", "Signed", "ok"),
            other => (other, other, "grey"),
        };
        (self.t(vi, en).to_string(), kind)
    }

    pub fn indication(&self, i: kyso_validate::Indication) -> (String, &'static str) {
        match i {
            kyso_validate::Indication::TotalPassed => (self.t("HỢP LỆ", "VALID").into(), "ok"),
            kyso_validate::Indication::TotalFailed => (self.t("KHÔNG HỢP LỆ", "INVALID").into(), "bad"),
            kyso_validate::Indication::Indeterminate => (self.t("CHƯA XÁC ĐỊNH", "INDETERMINATE").into(), "warn"),
        }
    }

    pub fn coverage(&self, c: kyso_validate::Coverage) -> String {
        self.t(
            match c {
                kyso_validate::Coverage::EntireFile => "toàn bộ tệp",
                kyso_validate::Coverage::EntireRevision => "toàn bộ phiên bản đã ký (có cập nhật sau)",
                kyso_validate::Coverage::Partial => "một phần phiên bản",
                kyso_validate::Coverage::Unclear => "không rõ",
            },
            match c {
                kyso_validate::Coverage::EntireFile => "the whole file",
                kyso_validate::Coverage::EntireRevision => "the whole signed revision (later updates follow)",
                kyso_validate::Coverage::Partial => "part of a revision",
                kyso_validate::Coverage::Unclear => "unclear",
            },
        )
        .to_string()
    }

    pub fn modifications(&self, m: kyso_validate::Modifications) -> String {
        self.t(
            match m {
                kyso_validate::Modifications::None => "không có thay đổi sau khi ký",
                kyso_validate::Modifications::Permitted => "chỉ có thay đổi được phép (chữ ký, dữ liệu kiểm tra dài hạn)",
                kyso_validate::Modifications::Disallowed => "có thay đổi KHÔNG được phép",
            },
            match m {
                kyso_validate::Modifications::None => "no change after signing",
                kyso_validate::Modifications::Permitted => "permitted changes only (signatures, long-term data)",
                kyso_validate::Modifications::Disallowed => "changes that are NOT permitted",
            },
        )
        .to_string()
    }

    pub fn attack(&self, a: kyso_validate::Attack) -> String {
        let (vi, en) = a.describe();
        self.t(vi, en).to_string()
    }

    pub fn message<'a>(&self, m: &'a kyso_validate::Message) -> &'a str {
        self.t(&m.vi, &m.en)
    }
}
