/**
 * The reference: DuckDB (single thread) converting the same NDJSON to Parquet with its native
 * `read_ndjson` → `COPY … TO … (FORMAT parquet, COMPRESSION snappy)`, with the table's declared
 * column types, so both sides do the same job: parse, type, encode.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Pipeline } from '../../lambdas/core/pipeline';
import { duckDbType, quoteLiteral as sqlString } from '../local/sql';

/** DuckDB's spelling of a Glue/Athena column type (the local endpoint's mapping). */
export const duckdbType = duckDbType;

/** The `columns={…}` argument of read_ndjson for a pipeline's declared (non-Kafka) columns, keyed by JSON field. */
export function ndjsonColumns(pipeline: Pipeline): string {
  const cols = pipeline.columns.filter((c) => !c.kafka);
  return `{${cols.map((c) => `${sqlString(c.field)}: ${sqlString(duckdbType(c.type))}`).join(', ')}}`;
}

/** One DuckDB conversion. */
export interface DuckdbRun {
  ms: number;
  /** Process CPU time (user + system, all threads, DuckDB's included) during the conversion, ms. */
  cpuMs: number;
  outputBytes: number;
  rows: number;
}

/** A single-threaded DuckDB session that converts one NDJSON file to Parquet, repeatedly. */
export class DuckdbReference {
  private constructor(
    private readonly conn: DuckDBConnection,
    private readonly close_: () => void,
    private readonly sql: string,
    private readonly outPath: string,
  ) {}

  /**
   * Opens an in-memory DuckDB with `threads=1` and prepares the conversion of `ndjsonPath`
   * (written once by the caller) into `outDir/duckdb.parquet`.
   */
  static async open(pipeline: Pipeline, ndjsonPath: string, outDir: string, compression: 'snappy' | 'zstd' = 'snappy'): Promise<DuckdbReference> {
    const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
    const conn = await instance.connect();
    await conn.run('SET threads = 1');
    await conn.run('SET preserve_insertion_order = true');
    const outPath = join(outDir, 'duckdb.parquet');
    const sql =
      `COPY (SELECT * FROM read_ndjson(${sqlString(ndjsonPath)}, columns = ${ndjsonColumns(pipeline)})) ` +
      `TO ${sqlString(outPath)} (FORMAT parquet, COMPRESSION ${compression})`;
    return new DuckdbReference(conn, () => {
      conn.closeSync();
      instance.closeSync();
    }, sql, outPath);
  }

  /** Runs the conversion once and times it (wall clock, in-process). */
  async convert(): Promise<DuckdbRun> {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const result = await this.conn.run(this.sql);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, outputBytes: statSync(this.outPath).size, rows: Number(result.rowsChanged) };
  }

  close(): void {
    this.close_();
  }
}
