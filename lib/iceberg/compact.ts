/**
 * Bin-pack compaction of a pipeline's Iceberg table, as Athena's `OPTIMIZE … REWRITE DATA USING
 * BIN_PACK` and the Glue Data Catalog's compaction optimizer do it: per partition, the small data
 * files (under 3/4 of the target size) are packed into bins of up to the target size, and each
 * bin of two or more files is rewritten as one file (DuckDB reads the inputs by field id and
 * writes the output with the table's current schema and field ids, so columns added by schema
 * evolution are kept, null in rows that predate them), committed as one `replace` snapshot.
 *
 * It runs on any {@link ObjectStore} and {@link TableCatalog}: the local endpoint (its OPTIMIZE
 * and the dev loop's optimizer), `lakeloader compact` against an account where the managed
 * optimizer is off, and tests with in-memory doubles. A conflicting rewrite (another compaction
 * won) is abandoned; its output files are orphans for orphan-file deletion.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { CONTENT_TYPE } from '../../lambdas/core/layout';
import type { DataFileEntry } from '../../lambdas/core/iceberg/avro';
import { replaceFiles, type ReplaceResult, type RewrittenFile } from '../../lambdas/core/iceberg/maintenance';
import { mergeFileStats } from '../../lambdas/core/iceberg/stats';
import { icebergLayout, type IcebergField, type IcebergType } from '../../lambdas/core/iceberg/schema';
import { pipelineAtTable } from '../../lambdas/core/iceberg/evolve';
import { readByFieldId } from './read';
import { IcebergMetadataError, keyOf, readTableMetadata, tableFiles, TARGET_FILE_SIZE_BYTES, type IcebergDeps } from '../../lambdas/core/iceberg/table';

export interface CompactOptions {
  /** Output file size to aim at. @default the table's `write.target-file-size-bytes` (128 MiB) */
  targetBytes?: number;
  /** Fewest small files in a partition worth a rewrite. @default 2 */
  minInputFiles?: number;
  /** Only files for which this returns true (Athena's OPTIMIZE … WHERE). */
  include?: (e: DataFileEntry) => boolean | Promise<boolean>;
}

export interface CompactResult {
  /** Data files of the table before and after. */
  filesBefore: number;
  filesAfter: number;
  /** Files rewritten, and files written for them. */
  rewritten: number;
  written: number;
  bytesRead: number;
  bytesWritten: number;
  snapshot: ReplaceResult | null;
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
const qi = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** DuckDB's FIELD_IDS option for a schema: `{col: id, list: {__duckdb_field_id: id, element: id}, …}`. */
function fieldIdsOption(fields: IcebergField[]): string {
  const nested = (t: IcebergType, id: number): string => {
    if (typeof t === 'string') return String(id);
    if (t.type === 'list') return `{__duckdb_field_id: ${id}, element: ${nested(t.element, t['element-id'])}}`;
    if (t.type === 'map') return `{__duckdb_field_id: ${id}, key: ${nested(t.key, t['key-id'])}, value: ${nested(t.value, t['value-id'])}}`;
    return `{__duckdb_field_id: ${id}, ${t.fields.map((f) => `${qi(f.name)}: ${nested(f.type, f.id)}`).join(', ')}}`;
  };
  return `{${fields.map((f) => `${qi(f.name)}: ${nested(f.type, f.id)}`).join(', ')}}`;
}

/** Groups of small files to rewrite: per partition, first-fit-decreasing into bins of `target` bytes. */
export function planBins(files: DataFileEntry[], target: number, minInputFiles: number): DataFileEntry[][] {
  const byPartition = new Map<string, DataFileEntry[]>();
  for (const f of files) {
    if (Number(f.data_file.file_size_in_bytes) >= target * 0.75) continue;
    const k = JSON.stringify(f.data_file.partition, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
    byPartition.set(k, [...(byPartition.get(k) ?? []), f]);
  }
  const bins: DataFileEntry[][] = [];
  for (const group of byPartition.values()) {
    if (group.length < minInputFiles) continue;
    const open: { size: number; files: DataFileEntry[] }[] = [];
    for (const f of [...group].sort((a, b) => Number(b.data_file.file_size_in_bytes - a.data_file.file_size_in_bytes))) {
      const size = Number(f.data_file.file_size_in_bytes);
      const bin = open.find((b) => b.size + size <= target);
      if (bin) {
        bin.size += size;
        bin.files.push(f);
      } else open.push({ size, files: [f] });
    }
    bins.push(...open.filter((b) => b.files.length >= 2).map((b) => b.files));
  }
  return bins;
}

/**
 * Compacts the table (see the module comment).
 * @throws the commit errors of table.ts; RewriteConflictError when another rewrite won
 */
export async function compactTable(deps: IcebergDeps, opts: CompactOptions = {}): Promise<CompactResult> {
  const table = await deps.catalog.getTable(deps.database, deps.pipeline.name);
  const current = table ? await readTableMetadata(deps, table) : null;
  if (!current) return { filesBefore: 0, filesAfter: 0, rewritten: 0, written: 0, bytesRead: 0, bytesWritten: 0, snapshot: null };
  const target = opts.targetBytes ?? (Number(current.metadata.properties['write.target-file-size-bytes']) || TARGET_FILE_SIZE_BYTES);
  const live = await tableFiles(deps, current.metadata);
  const candidates: DataFileEntry[] = [];
  for (const e of live) if (e.data_file.content === 0 && (!opts.include || (await opts.include(e)))) candidates.push(e);
  const bins = planBins(candidates, target, opts.minInputFiles ?? 2);
  if (bins.length === 0) return { filesBefore: live.length, filesAfter: live.length, rewritten: 0, written: 0, bytesRead: 0, bytesWritten: 0, snapshot: null };

  // Rewritten with the table's current schema: the columns schema evolution added, and their field ids.
  const atTable = { ...deps, pipeline: pipelineAtTable(deps.pipeline, table!, current.metadata) };
  const added: RewrittenFile[] = [];
  for (const bin of bins) added.push(await rewriteBin(atTable, bin));
  const removed = bins.flat().map((f) => f.data_file.file_path);
  const snapshot = await replaceFiles(deps, removed, added);
  return {
    filesBefore: live.length,
    filesAfter: live.length - removed.length + added.length,
    rewritten: removed.length,
    written: added.length,
    bytesRead: bins.flat().reduce((n, f) => n + Number(f.data_file.file_size_in_bytes), 0),
    bytesWritten: added.reduce((n, f) => n + f.bytes, 0),
    snapshot,
  };
}

/**
 * Writes one file holding the rows of `bin` (data files of one partition), with the table's
 * field ids, its compression and the merged statistics of the inputs; does not commit it.
 */
export async function rewriteBin(deps: IcebergDeps, bin: DataFileEntry[]): Promise<RewrittenFile> {
  const { schema } = icebergLayout(deps.pipeline);
  const codec = deps.pipeline.compression;
  const dir = await mkdtemp(join(tmpdir(), 'lakeloader-compact-'));
  const instance = await DuckDBInstance.create(':memory:', { threads: '2' });
  const con = await instance.connect();
  try {
    await con.run(`SET TimeZone = 'UTC'`);
    const inputs: string[] = [];
    for (const f of bin) {
      const got = await deps.store.get(keyOf(deps, f.data_file.file_path));
      if (!got) throw new IcebergMetadataError(`${f.data_file.file_path} is in the table but not in the bucket`);
      const path = join(dir, `${inputs.length}.parquet`);
      await writeFile(path, got.body);
      inputs.push(path);
    }
    const out = join(dir, 'out.parquet');
    await con.run(
      `COPY (SELECT ${deps.pipeline.columns.map((c) => qi(c.name)).join(', ')} FROM ${readByFieldId(inputs, schema, { keepTimeZone: true }).source}) TO ${q(out)} (FORMAT parquet, COMPRESSION ${codec}, FIELD_IDS ${fieldIdsOption(schema.fields)}, KV_METADATA {'iceberg.schema': ${q(JSON.stringify(schema))}})`,
    );
    const body = await readFile(out);
    const key = `${posix.dirname(keyOf(deps, bin[0]!.data_file.file_path))}/compacted-${randomUUID()}.parquet`;
    await deps.store.put(key, body, { ifNoneMatch: '*', contentType: CONTENT_TYPE.parquet });
    return {
      key,
      rows: bin.reduce((n, f) => n + Number(f.data_file.record_count), 0),
      bytes: body.byteLength,
      iceberg: { partition: Object.values(bin[0]!.data_file.partition), stats: mergeFileStats(deps.pipeline, bin.map((f) => f.data_file)) },
    };
  } finally {
    con.closeSync();
    instance.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}
