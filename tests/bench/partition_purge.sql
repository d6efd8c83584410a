-- The purge of screen events after the programme (SPEC W11): one DELETE of a plain table
-- against DROP of monthly partitions, at the 1M-tester volume (3M events over 14 months).
-- docs/performance.md, "Past 100x". Run in a scratch database: psql -d scratch -f this-file
\timing on
SET jit = off;
DROP TABLE IF EXISTS ev_plain, ev_part CASCADE;
CREATE TABLE ev_plain (id bigserial PRIMARY KEY, progress_id bigint NOT NULL, screen smallint NOT NULL, created_at timestamptz NOT NULL);
CREATE INDEX ON ev_plain (progress_id, screen, created_at);
CREATE TABLE ev_part (id bigserial, progress_id bigint NOT NULL, screen smallint NOT NULL, created_at timestamptz NOT NULL, PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
DO $$ DECLARE m date := date '2025-11-01'; BEGIN
  WHILE m < date '2027-01-01' LOOP
    EXECUTE format('CREATE TABLE ev_part_%s PARTITION OF ev_part FOR VALUES FROM (%L) TO (%L)', to_char(m, 'YYYYMM'), m, m + interval '1 month');
    m := m + interval '1 month';
  END LOOP; END $$;
CREATE INDEX ON ev_part (progress_id, screen, created_at);
INSERT INTO ev_plain (progress_id, screen, created_at) SELECT g / 3, 1 + g % 5, timestamptz '2025-11-01' + (g * interval '400 days') / 3000000 FROM generate_series(0, 2999999) g;
INSERT INTO ev_part (progress_id, screen, created_at) SELECT g / 3, 1 + g % 5, timestamptz '2025-11-01' + (g * interval '400 days') / 3000000 FROM generate_series(0, 2999999) g;
VACUUM ANALYZE ev_plain; VACUUM ANALYZE ev_part;
SELECT pg_size_pretty(pg_total_relation_size('ev_plain'));
-- the purge: every event
BEGIN; DELETE FROM ev_plain; COMMIT;
BEGIN; DO $$ DECLARE r record; BEGIN FOR r IN SELECT inhrelid::regclass AS p FROM pg_inherits WHERE inhparent = 'ev_part'::regclass LOOP EXECUTE 'DROP TABLE ' || r.p; END LOOP; END $$; COMMIT;
DROP TABLE ev_plain, ev_part;
