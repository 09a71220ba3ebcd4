// Writes the Parquet fixtures of the reader tests with DuckDB, an
// implementation that shares no code with parquet-go. The files are
// committed; run this only to remake them, from this directory, with the
// script copied beside a node_modules that has @duckdb/node-api:
//
//	(cd /tmp/gen && npm install @duckdb/node-api@1.5.6-r.1)
//	cp make_fixtures.mjs /tmp/gen/ && node /tmp/gen/make_fixtures.mjs
import { DuckDBInstance } from '@duckdb/node-api';

const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();

// 5000 rows in row groups of 2048 rows, zstd, dictionary-encoded strings.
// Row i: id "r<i>" (null for i = 10), prompt "prompt <i>" (null for i = 7,
// empty for i = 8), system "sys" when i % 3 = 0, metadata by i % 4:
// JSON {"n":i}, null, plain text "note <i>", empty.
await c.run(`
COPY (
  SELECT
    CASE WHEN i = 10 THEN NULL ELSE 'r' || i END AS id,
    CASE WHEN i = 7 THEN NULL WHEN i = 8 THEN '' ELSE 'prompt ' || i END AS prompt,
    CASE WHEN i % 3 = 0 THEN 'sys' END AS system,
    CASE i % 4 WHEN 0 THEN '{"n":' || i || '}' WHEN 1 THEN NULL
               WHEN 2 THEN 'note ' || i ELSE '' END AS metadata,
    i * 2 AS extra
  FROM range(1, 5001) t(i) ORDER BY i
) TO 'duckdb_zstd_dict.parquet'
  (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 2048)`);

// 100 rows, snappy, BIGINT ids (null for i = 5) and a messages column of
// JSON text instead of prompt.
await c.run(`
COPY (
  SELECT
    CASE WHEN i = 5 THEN NULL ELSE i * 1000 END::BIGINT AS id,
    '[{"role":"user","content":[{"text":"q' || i || '"}]},'
      || '{"role":"assistant","content":"a' || i || '"},'
      || '{"role":"user","content":"more"}]' AS messages
  FROM range(1, 101) t(i) ORDER BY i
) TO 'duckdb_snappy_int.parquet' (FORMAT parquet, COMPRESSION snappy)`);

// 10 rows, gzip, INTEGER (INT32) ids and both prompt and messages columns.
await c.run(`
COPY (
  SELECT i::INTEGER AS id, 'p' || i AS prompt,
    CASE WHEN i = 3 THEN '[{"role":"user","content":"m3"}]' END AS messages
  FROM range(1, 11) t(i) ORDER BY i
) TO 'duckdb_gzip_int32.parquet' (FORMAT parquet, COMPRESSION gzip)`);

// No usable column.
await c.run(`COPY (SELECT 1 AS id, 'x' AS text) TO 'duckdb_no_prompt.parquet' (FORMAT parquet)`);
