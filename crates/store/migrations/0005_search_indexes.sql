-- Search over folded text (kyso_org::text::fold) with `LIKE '%word%'`: on PostgreSQL a trigram
-- index answers it without reading every row (pg_trgm ships with PostgreSQL and is a trusted
-- extension: the database's owner may create it). SQLite reads the rows of the caller's
-- districts, which its single-school deployments keep small.
/* postgres only */ CREATE EXTENSION IF NOT EXISTS pg_trgm;
/* postgres only */ CREATE INDEX IF NOT EXISTS biblios_search_trgm ON biblios USING gin (search_text gin_trgm_ops)
;
-- The union catalogue gathers every school's record of a title by its de-duplication key.
CREATE INDEX IF NOT EXISTS biblios_district_dedup ON biblios (district_id, dedup_key)
