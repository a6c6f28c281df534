-- The records archive (hồ sơ sổ sách điện tử): the catalogue of registers, school years and their
-- periods, and the obligations they create (who owes which register for which period). An
-- obligation's `state` mirrors its document (draft, submitted, in_approval, returned, signed) and
-- is refreshed from documents changed since `records_sync.cursor`; "missing" and "overdue" come
-- from `due_at` when the page is asked for, so nothing has to run when a deadline passes.
CREATE TABLE IF NOT EXISTS register_types (
    id TEXT PRIMARY KEY,
    defined_at TEXT,
    code TEXT NOT NULL,
    name_vi TEXT NOT NULL,
    name_en TEXT NOT NULL,
    owner_type TEXT NOT NULL,
    frequency TEXT NOT NULL,
    levels TEXT NOT NULL,
    formats TEXT NOT NULL,
    template_id TEXT NOT NULL,
    due TEXT NOT NULL,
    citation TEXT NOT NULL,
    confirmed BIGINT NOT NULL,
    active BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS register_types_code ON register_types (code, defined_at);
CREATE TABLE IF NOT EXISTS school_years (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL,
    name TEXT NOT NULL,
    education_level TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT NOT NULL,
    opened_by TEXT NOT NULL,
    opened_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS school_years_name ON school_years (school_id, name);
CREATE TABLE IF NOT EXISTS periods (
    id TEXT PRIMARY KEY,
    year_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    seq BIGINT NOT NULL,
    label TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS periods_year ON periods (year_id, kind, seq);
CREATE TABLE IF NOT EXISTS obligations (
    id TEXT PRIMARY KEY,
    year_id TEXT NOT NULL,
    year_name TEXT NOT NULL,
    period_id TEXT NOT NULL,
    register_code TEXT NOT NULL,
    register_id TEXT NOT NULL,
    owner_type TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    owner_name TEXT NOT NULL,
    unit_id TEXT NOT NULL,
    school_id TEXT NOT NULL,
    district_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    opens_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    document_id TEXT,
    state TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS obligations_once ON obligations (period_id, register_code, owner_id);
-- Each dashboard level reads one index in the order of its rows (the unit below), so counting
-- streams without sorting.
CREATE INDEX IF NOT EXISTS obligations_department ON obligations (department_id, year_name, district_id, opens_at, state, due_at);
CREATE INDEX IF NOT EXISTS obligations_district ON obligations (district_id, year_name, school_id, opens_at, state, due_at);
CREATE INDEX IF NOT EXISTS obligations_school ON obligations (school_id, year_name, unit_id, opens_at, register_code, state, due_at);
CREATE INDEX IF NOT EXISTS obligations_owner ON obligations (owner_id, due_at);
CREATE INDEX IF NOT EXISTS obligations_year ON obligations (year_id);
CREATE INDEX IF NOT EXISTS obligations_document ON obligations (document_id);
CREATE INDEX IF NOT EXISTS documents_updated ON documents (updated_at);
CREATE TABLE IF NOT EXISTS records_sync (
    id BIGINT PRIMARY KEY,
    cursor_at BIGINT NOT NULL
);
-- Counts of obligations per school, register, period and state: what the Phòng's and the Sở's
-- dashboards read (a few hundred rows per school instead of a row per obligation). Recomputed
-- for a school year whenever one of its obligations changes state, in the same transaction.
CREATE TABLE IF NOT EXISTS obligation_tally (
    year_id TEXT NOT NULL,
    year_name TEXT NOT NULL,
    school_id TEXT NOT NULL,
    district_id TEXT NOT NULL,
    department_id TEXT NOT NULL,
    register_code TEXT NOT NULL,
    period_id TEXT NOT NULL,
    opens_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    n BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS obligation_tally_year ON obligation_tally (year_id);
CREATE INDEX IF NOT EXISTS obligation_tally_department ON obligation_tally (department_id, year_name, district_id, opens_at, state, due_at, n);
CREATE INDEX IF NOT EXISTS obligation_tally_district ON obligation_tally (district_id, year_name, school_id, opens_at, state, due_at, n);
