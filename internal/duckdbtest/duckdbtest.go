// Package duckdbtest runs SQL in DuckDB for tests that check Parquet files
// against an implementation that shares no code with parquet-go. DuckDB is
// the npm package @duckdb/node-api, run through node; scripts/test.sh
// installs it once into a cache directory and names it in EnvDir.
package duckdbtest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// EnvDir names the directory whose node_modules holds @duckdb/node-api.
const EnvDir = "BEDROCK_BATCH_TEST_DUCKDB"

// script runs the statements of the JSON array in argv[2] and prints the
// rows of the last one as a JSON array of objects (BIGINT as strings, lists
// as arrays, NULL as null).
const script = `
const duckdb = require(require('path').join(process.argv[2], 'node_modules', '@duckdb', 'node-api'));
(async () => {
  const sql = JSON.parse(require('fs').readFileSync(process.argv[3], 'utf8'));
  const db = await duckdb.DuckDBInstance.create(':memory:');
  const c = await db.connect();
  for (const s of sql.slice(0, -1)) await c.run(s);
  const r = await c.runAndReadAll(sql[sql.length - 1]);
  process.stdout.write(JSON.stringify(r.getRowObjectsJson()));
})().catch(e => { console.error(e.message); process.exit(1); });
`

// Dir returns the directory EnvDir names. Without it, it skips the test,
// except under CI=true, where it fails it: run the tests with
// scripts/test.sh.
func Dir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv(EnvDir)
	if dir == "" {
		const why = EnvDir + " is not set: run the tests with scripts/test.sh, which installs @duckdb/node-api" +
			" (or npm install it into a directory and set " + EnvDir + " to that directory)"
		if os.Getenv("CI") == "true" {
			t.Fatal("DuckDB tests cannot be skipped in CI: " + why)
		}
		t.Skip("no DuckDB: " + why)
	}
	return dir
}

// Query runs the SQL statements in DuckDB and returns the rows of the last,
// one map per row, decoded with json.Number for numbers. It skips or fails
// the test as Dir does, and fails it when DuckDB reports an error.
func Query(t testing.TB, statements ...string) []map[string]any {
	t.Helper()
	dir := Dir(t)
	tmp := t.TempDir()
	js, sqlFile := filepath.Join(tmp, "query.cjs"), filepath.Join(tmp, "query.json")
	sql, err := json.Marshal(statements)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(js, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sqlFile, sql, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("node", js, dir, sqlFile)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("duckdb: %v: %s", err, stderr.String())
	}
	d := json.NewDecoder(&stdout)
	d.UseNumber()
	var rows []map[string]any
	if err := d.Decode(&rows); err != nil {
		t.Fatalf("duckdb output: %v", err)
	}
	return rows
}
