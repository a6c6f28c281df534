-- The school library (thư viện trường học): bibliographic records per library (a school org),
-- physical copies with their accession numbers, readers with their cards, loan rules and
-- holidays as data, loans and holds. A copy is never lent twice: `loans_open_item` allows one
-- open loan per copy, whatever number of desks or nodes try at once. `search_text` is the
-- folded text (kyso_org::text::fold) of the fields people search, the same on both databases.
CREATE TABLE IF NOT EXISTS biblios (
    id TEXT PRIMARY KEY,
    library_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    district_id TEXT NOT NULL,
    title TEXT NOT NULL,
    responsibility TEXT NOT NULL,
    publisher TEXT NOT NULL,
    place TEXT NOT NULL,
    year TEXT NOT NULL,
    edition TEXT NOT NULL,
    isbn TEXT,
    language TEXT NOT NULL,
    classification TEXT NOT NULL,
    subjects TEXT NOT NULL,
    summary TEXT NOT NULL,
    marcxml TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    search_text TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS biblios_library_isbn ON biblios (library_id, isbn);
CREATE UNIQUE INDEX IF NOT EXISTS biblios_library_seq ON biblios (library_id, seq);
CREATE INDEX IF NOT EXISTS biblios_library_dedup ON biblios (library_id, dedup_key);
CREATE INDEX IF NOT EXISTS biblios_district ON biblios (district_id, created_at);
CREATE TABLE IF NOT EXISTS library_items (
    id TEXT PRIMARY KEY,
    biblio_id TEXT NOT NULL,
    library_id TEXT NOT NULL,
    barcode TEXT NOT NULL,
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    call_number TEXT NOT NULL,
    state TEXT NOT NULL,
    price BIGINT NOT NULL,
    source TEXT NOT NULL,
    acquired_on TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS library_items_barcode ON library_items (library_id, barcode);
CREATE INDEX IF NOT EXISTS library_items_biblio ON library_items (biblio_id, state);
CREATE TABLE IF NOT EXISTS library_readers (
    id TEXT PRIMARY KEY,
    library_id TEXT NOT NULL,
    user_id TEXT,
    card_number TEXT NOT NULL,
    full_name TEXT NOT NULL,
    reader_type TEXT NOT NULL,
    class_name TEXT NOT NULL,
    active BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS library_readers_card ON library_readers (library_id, card_number);
CREATE INDEX IF NOT EXISTS library_readers_user ON library_readers (user_id);
CREATE TABLE IF NOT EXISTS library_loan_rules (
    library_id TEXT NOT NULL,
    reader_type TEXT NOT NULL,
    max_items BIGINT NOT NULL,
    loan_days BIGINT NOT NULL,
    max_renewals BIGINT NOT NULL,
    PRIMARY KEY (library_id, reader_type)
);
CREATE TABLE IF NOT EXISTS library_holidays (
    library_id TEXT NOT NULL,
    day TEXT NOT NULL,
    label TEXT NOT NULL,
    PRIMARY KEY (library_id, day)
);
CREATE TABLE IF NOT EXISTS library_loans (
    id TEXT PRIMARY KEY,
    item_id TEXT NOT NULL,
    biblio_id TEXT NOT NULL,
    reader_id TEXT NOT NULL,
    library_id TEXT NOT NULL,
    out_at BIGINT NOT NULL,
    due_on TEXT NOT NULL,
    renewals BIGINT NOT NULL,
    returned_at BIGINT,
    out_by TEXT NOT NULL,
    returned_by TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS library_loans_open_item ON library_loans (item_id) WHERE returned_at IS NULL;
CREATE INDEX IF NOT EXISTS library_loans_reader ON library_loans (reader_id, returned_at);
CREATE INDEX IF NOT EXISTS library_loans_library ON library_loans (library_id, returned_at, due_on);
CREATE TABLE IF NOT EXISTS library_holds (
    id TEXT PRIMARY KEY,
    biblio_id TEXT NOT NULL,
    library_id TEXT NOT NULL,
    reader_id TEXT NOT NULL,
    placed_at BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    state TEXT NOT NULL,
    item_id TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS library_holds_queue ON library_holds (biblio_id, state, seq);
CREATE INDEX IF NOT EXISTS library_holds_reader ON library_holds (reader_id, state)
;
CREATE TABLE IF NOT EXISTS library_stocktakes (
    id TEXT PRIMARY KEY,
    library_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    opened_by TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    closed_at BIGINT
);
CREATE INDEX IF NOT EXISTS library_stocktakes_library ON library_stocktakes (library_id, opened_at);
CREATE TABLE IF NOT EXISTS library_stocktake_expected (
    stocktake_id TEXT NOT NULL,
    item_id TEXT NOT NULL,
    barcode TEXT NOT NULL,
    on_loan BIGINT NOT NULL,
    PRIMARY KEY (stocktake_id, barcode)
);
CREATE TABLE IF NOT EXISTS library_stocktake_scans (
    stocktake_id TEXT NOT NULL,
    barcode TEXT NOT NULL,
    scanned_at BIGINT NOT NULL,
    scanned_by TEXT NOT NULL,
    PRIMARY KEY (stocktake_id, barcode)
)
