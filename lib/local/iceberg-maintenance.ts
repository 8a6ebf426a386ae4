/**
 * Athena's Iceberg maintenance statements on the local endpoint, for tables a pipeline declares
 * (the rewrite needs the pipeline's schema and compression):
 *
 * - `OPTIMIZE t REWRITE DATA USING BIN_PACK [WHERE predicate]`: bin-pack compaction
 *   (lib/iceberg/compact.ts) of the files holding rows that match the predicate (all without one);
 * - `VACUUM t`: expires snapshots older than the table's `vacuum_max_snapshot_age_seconds`
 *   (default 5 days) keeping `vacuum_min_snapshots_to_keep` (default 1), deletes the files only
 *   they referenced, then the orphan files older than the same age.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { expireSnapshots, orphanFiles } from '../../lambdas/core/iceberg/maintenance';
import { readTableMetadata, type IcebergDeps } from '../../lambdas/core/iceberg/table';
import { currentSchema } from '../../lambdas/core/iceberg/schema';
import { compactTable } from '../iceberg/compact';
import { readByFieldId } from '../iceberg/read';
import { getPipeline } from '../pipelines';
import type { LocalGlueCatalog } from './glue';
import { IcebergReader, isIcebergTable, LocalBucketStore, LocalTableCatalog, tokenName } from './iceberg';
import { parseS3Uri, QueryError, quoteIdent, type SqlToken } from './sql';
import type { LocalObjectStore } from './store';

export interface MaintenanceContext {
  store: LocalObjectStore;
  glue: LocalGlueCatalog;
  database: string | undefined;
  con: DuckDBConnection;
  now?: () => number;
}

const DAY_SECONDS = 86_400;

/** Parses and runs OPTIMIZE or VACUUM. @returns the bytes it read (Athena's DataScannedInBytes) */
export async function runMaintenance(tokens: SqlToken[], ctx: MaintenanceContext): Promise<{ bytes: number }> {
  const sig = tokens.filter((t) => t.kind !== 'ws' && t.kind !== 'comment');
  const kw = sig[0]!.text.toUpperCase();
  let i = 1;
  const parts: string[] = [];
  while (sig[i] && (sig[i]!.kind === 'word' || sig[i]!.kind === 'qid')) {
    parts.push(tokenName(sig[i]!));
    if (sig[i + 1]?.text === '.') i += 2;
    else {
      i++;
      break;
    }
  }
  const usage = kw === 'OPTIMIZE' ? 'OPTIMIZE [db.]table REWRITE DATA USING BIN_PACK [WHERE predicate]' : 'VACUUM [db.]table';
  if (parts.length === 0 || parts.length > 2) throw new QueryError(`line 1:${kw.length + 2}: mismatched input; expected ${usage}`);
  const words = sig.slice(i).map((t) => t.text.toUpperCase());
  let where: string | undefined;
  if (kw === 'OPTIMIZE') {
    if (words.slice(0, 4).join(' ') !== 'REWRITE DATA USING BIN_PACK') throw new QueryError(`line 1: mismatched input; expected ${usage}`);
    if (words.length > 4) {
      if (words[4] !== 'WHERE' || words.length === 5) throw new QueryError(`line 1: mismatched input '${sig[i + 4]?.text ?? ''}'; expected ${usage}`);
      const at = tokens.indexOf(sig[i + 4]!);
      where = tokens.slice(at + 1).map((t) => t.text).join('');
    }
  } else if (words.length) throw new QueryError(`line 1: mismatched input '${sig[i]!.text}'; expected ${usage}`);

  const table = parts.at(-1)!;
  const db = parts.length === 2 ? parts[0]! : ctx.database;
  if (!db) throw new QueryError(`line 1: ${kw} needs a database (set QueryExecutionContext.Database or write db.${table})`);
  const t = (ctx.glue.tablesOf(db) ?? []).find((x) => x.Name.toLowerCase() === table);
  if (!t) throw new QueryError(`TABLE_NOT_FOUND: line 1: Table awsdatacatalog.${db}.${table} does not exist`);
  if (!isIcebergTable(t)) throw new QueryError(`NOT_SUPPORTED: ${kw} is supported only for Iceberg tables; ${db}.${table} is a Hive table`);
  const pipelineName = t.Parameters?.['lakeloader.pipeline'];
  const pipeline = pipelineName ? getPipeline(pipelineName) : undefined;
  if (!pipeline) throw new QueryError(`NOT_SUPPORTED: the local endpoint runs ${kw} on tables a pipeline declares; ${db}.${table} is not one (no pipeline "${pipelineName ?? ''}")`);
  const { bucket } = parseS3Uri(t.StorageDescriptor?.Location ?? '');
  const now = ctx.now ?? Date.now;
  const deps: IcebergDeps = { store: new LocalBucketStore(ctx.store, bucket), catalog: new LocalTableCatalog(ctx.glue), bucket, database: db, pipeline, now };

  if (kw === 'OPTIMIZE') {
    const reader = new IcebergReader(ctx.store, t);
    const schema = where ? currentSchema(await reader.metadata()) : undefined;
    const include = where
      ? async (e: { data_file: { file_path: string } }) => {
          // The file's rows as the table's current schema reads them (by field id: a column added later is null).
          const { source, columns } = readByFieldId([reader.path(e.data_file.file_path)], schema!);
          const r = await ctx.con.run(`SELECT count(*) FROM (SELECT ${columns.map((c) => `f.${quoteIdent(c.name)}`).join(', ')} FROM ${source} f) AS ${table} WHERE ${where}`);
          return Number((await r.getRows())[0]![0]) > 0;
        }
      : undefined;
    const r = await compactTable(deps, { include });
    return { bytes: r.bytesRead };
  }

  const current = await readTableMetadata(deps, (await deps.catalog.getTable(db, table))!);
  if (!current) return { bytes: 0 };
  const props = current.metadata.properties;
  const maxAgeS = Number(props.vacuum_max_snapshot_age_seconds ?? Number(props['history.expire.max-snapshot-age-ms'] ?? 5 * DAY_SECONDS * 1000) / 1000);
  const keep = Number(props.vacuum_min_snapshots_to_keep ?? props['history.expire.min-snapshots-to-keep'] ?? 1);
  const olderThan = now() - maxAgeS * 1000;
  const expired = await expireSnapshots(deps, { olderThanMs: olderThan, retainLast: keep });
  await deps.store.deleteMany(expired.unreferenced);
  const after = await readTableMetadata(deps, (await deps.catalog.getTable(db, table))!);
  if (after) await deps.store.deleteMany(await orphanFiles(deps, after.metadata, after.location, olderThan));
  return { bytes: 0 };
}
