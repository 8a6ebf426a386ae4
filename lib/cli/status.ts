/**
 * `lakeloader status [--table T] [--days N] [--small-file-mb MB] [--json]`: per pipeline the last
 * commit, committed offsets, rows and files by table partition over the last days, average file
 * size, small files and the quarantine by stage (see lib/ops/status.ts). Reads the bucket (and an
 * Iceberg table's entry in Glue, for its current snapshot); runs no Athena query.
 */
import type { Command } from 'commander';
import { getPipeline, listPipelines } from '../pipelines';
import { GlueCatalog } from '../../lambdas/core/catalog';
import { S3ObjectStore } from '../../lambdas/core/store';
import { formatBytes } from '../ops/athena';
import { cliNow, renderTable } from '../ops/format';
import { errorText, stdio, type CommandIo } from '../ops/io';
import { DEFAULT_SMALL_FILE_BYTES, pipelineStatus, type PipelineStatus } from '../ops/status';
import { resolveContext, withContextOptions, type CliContext, type ContextFlags } from './context';

export interface StatusFlags extends ContextFlags {
  table?: string;
  days?: string;
  smallFileMb?: string;
  json?: boolean;
}

function ago(iso: string | null, now: number): string {
  if (!iso) return 'never';
  const s = Math.round((now - Date.parse(iso)) / 1000);
  const d = s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
  return `${iso} (${d} ago)`;
}

/** Formats one pipeline's status for people. */
export function formatStatus(s: PipelineStatus, smallFileBytes: number, now = cliNow()): string {
  const out: string[] = [];
  out.push(`${s.pipeline}  (topics: ${s.topics.join(', ')})   last commit ${ago(s.lastCommitAt, now)}`);
  out.push('');
  out.push(
    renderTable(
      ['topic', 'partition', 'committed offset', 'pending', 'last commit', 'last rows', 'last quarantined', 'last files'],
      s.kafkaPartitions.map((p) => [p.topic, p.partition, p.committedOffset, p.pending ? 'yes' : 'no', p.lastCommitAt ?? '-', p.lastCommit?.rows, p.lastCommit?.quarantined, p.lastCommit?.files]),
    ).trimEnd(),
  );
  out.push('');
  out.push(`table partitions since ${s.window.from} (the last ${s.window.days * 24} hours, by ${s.window.basis}):`);
  out.push(
    renderTable(
      ['partition', 'rows', 'files', 'size', 'avg file', `small (<${formatBytes(smallFileBytes)})`],
      [
        ...s.tablePartitions.map((p) => [p.partition || '(unpartitioned)', p.rows, p.files, formatBytes(p.bytes), formatBytes(p.avgFileBytes), p.smallFiles]),
        ['total', s.totals.rows, s.totals.files, formatBytes(s.totals.bytes), formatBytes(s.totals.avgFileBytes), s.totals.smallFiles],
      ],
    ).trimEnd(),
  );
  out.push('');
  const stages = Object.entries(s.quarantine.byStage).sort(([a], [b]) => a.localeCompare(b));
  out.push(
    `quarantine: ${s.quarantine.total} records in ${s.quarantine.objects} objects${stages.length ? ` — ${stages.map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}` +
      (s.replays ? `; ${s.replays} replays committed` : ''),
  );
  return out.join('\n') + '\n';
}

/**
 * Runs `status` for the CLI.
 * @returns exit code 0, or 2 when the bucket could not be read
 */
export async function runStatus(ctx: CliContext, flags: StatusFlags, io: CommandIo = stdio, now?: number): Promise<{ exitCode: number; statuses?: PipelineStatus[] }> {
  try {
    now ??= cliNow();
    const days = flags.days === undefined ? 3 : Number(flags.days);
    if (!Number.isInteger(days) || days < 1) throw new Error(`--days must be a positive integer, got "${flags.days}"`);
    const smallMb = flags.smallFileMb === undefined ? DEFAULT_SMALL_FILE_BYTES / 1048576 : Number(flags.smallFileMb);
    if (!(smallMb > 0)) throw new Error(`--small-file-mb must be a positive number, got "${flags.smallFileMb}"`);
    const smallFileBytes = Math.round(smallMb * 1048576);
    const list = flags.table ? [getPipeline(flags.table)] : listPipelines();
    const store = new S3ObjectStore(ctx.s3(), ctx.bucket);
    const iceberg = { catalog: new GlueCatalog(ctx.glue()), bucket: ctx.bucket, database: ctx.database };
    const statuses = await Promise.all(list.map((p) => pipelineStatus(store, p, { days, smallFileBytes, now, iceberg })));
    io.out(flags.json ? `${JSON.stringify(statuses)}\n` : statuses.map((s) => formatStatus(s, smallFileBytes, now)).join('\n'));
    return { exitCode: 0, statuses };
  } catch (e) {
    io.err(`lakeloader status: ${errorText(e)}\n`);
    return { exitCode: 2 };
  }
}

/** Registers `lakeloader status`. */
export function register(program: Command): void {
  withContextOptions(
    program
      .command('status')
      .description('one-glance view per pipeline: last commit, committed offsets, rows and files by partition, small files, quarantine by stage')
      .option('--table <name>', 'only this pipeline (default: every declared pipeline)')
      .option('--days <n>', 'the last N × 24 hours of event time: every table partition (hour or day) that window touches, whatever the clock says now; tables not partitioned by event time go by commit time', '3')
      .option('--small-file-mb <mb>', 'files below this size count as small (compaction candidates)', '64')
      .option('--json', 'print an array of JSON objects, one per pipeline'),
    ['endpoint', 'region', 'bucket', 'outputs'],
  ).action(async (flags: StatusFlags) => {
    const { exitCode } = await runStatus(resolveContext(flags), flags);
    process.exitCode = exitCode;
  });
}
