/**
 * Test helper: read Parquet bytes or files back with DuckDB (@duckdb/node-api), to check what the
 * loader wrote the way an engine sees it. One in-memory DuckDB instance per process, created lazily.
 */
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

let connection: Promise<DuckDBConnection> | null = null;
let dir: string | null = null;
let counter = 0;

/** The shared DuckDB connection (in-memory database). */
export function duckdb(): Promise<DuckDBConnection> {
  connection ??= DuckDBInstance.create(':memory:').then((db) => db.connect());
  return connection;
}

/** Writes Parquet bytes to a temporary file and returns its path (removed by {@link cleanupDuckdbFiles}). */
export function parquetFile(bytes: Uint8Array): string {
  dir ??= mkdtempSync(join(tmpdir(), 'lakeloader-duckdb-'));
  const path = join(dir, `f${++counter}.parquet`);
  writeFileSync(path, bytes);
  return path;
}

/** Removes the temporary files written by {@link parquetFile}. */
export function cleanupDuckdbFiles(): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const source = (file: Uint8Array | string) => sqlString(typeof file === 'string' ? file : parquetFile(file));

/** Runs SQL and returns rows as JSON-friendly objects (bigints/decimals/timestamps as strings). */
export async function query(sql: string): Promise<Record<string, unknown>[]> {
  const conn = await duckdb();
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjectsJson() as Record<string, unknown>[];
}

/** Runs SQL and returns rows with DuckDB's native JS values (bigint for BIGINT, etc.). */
export async function queryValues(sql: string): Promise<Record<string, unknown>[]> {
  const conn = await duckdb();
  const reader = await conn.runAndReadAll(sql);
  return reader.getRowObjects() as Record<string, unknown>[];
}

/** All rows of a Parquet file (bytes or path), `SELECT *` with an optional ORDER BY, JSON-friendly. */
export async function readParquetRows(file: Uint8Array | string, orderBy?: string): Promise<Record<string, unknown>[]> {
  return query(`SELECT * FROM read_parquet(${source(file)})${orderBy ? ` ORDER BY ${orderBy}` : ''}`);
}

/** DuckDB's column names and SQL types of a Parquet file, e.g. `{ user_id: 'BIGINT', ts: 'TIMESTAMP WITH TIME ZONE' }`. */
export async function describeParquet(file: Uint8Array | string): Promise<Record<string, string>> {
  const rows = await query(`DESCRIBE SELECT * FROM read_parquet(${source(file)})`);
  return Object.fromEntries(rows.map((r) => [String(r.column_name), String(r.column_type)]));
}

/** `parquet_schema()`: one row per schema element (name, type, logical_type, converted_type, …). */
export async function parquetSchema(file: Uint8Array | string): Promise<Record<string, unknown>[]> {
  return query(`SELECT * FROM parquet_schema(${source(file)})`);
}

/** `parquet_metadata()`: one row per column chunk (row_group_id, path_in_schema, compression, …). */
export async function parquetMetadata(file: Uint8Array | string): Promise<Record<string, unknown>[]> {
  return query(`SELECT * FROM parquet_metadata(${source(file)})`);
}

/** `parquet_kv_metadata()` as a plain key → value map (decoded as UTF-8). */
export async function parquetKvMetadata(file: Uint8Array | string): Promise<Record<string, string>> {
  const rows = await query(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${source(file)})`);
  return Object.fromEntries(rows.map((r) => [String(r.k), String(r.v)]));
}
