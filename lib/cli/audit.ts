/**
 * `lakeloader audit --table T [--json]`: proves every committed offset is in the table or the
 * quarantine exactly once (see lib/ops/audit.ts). Exits 1 on any duplicate, gap, overlap, lost or
 * stray object or count mismatch, 2 when the audit itself could not run.
 */
import { GlueCatalog } from '../../lambdas/core/catalog';
import type { Command } from 'commander';
import { getPipeline } from '../pipelines';
import { S3ObjectStore } from '../../lambdas/core/store';
import { formatBytes, stateReporter } from '../ops/athena';
import { auditTable, type AuditReport } from '../ops/audit';
import { sqlRunner } from '../ops/deps';
import { renderTable } from '../ops/format';
import { errorText, stdio, type CommandIo } from '../ops/io';
import { resolveContext, withContextOptions, type CliContext, type ContextFlags } from './context';

export interface AuditFlags extends ContextFlags {
  table: string;
  json?: boolean;
}

const range = (r: [number, number][]) => (r.length ? r.map(([a, b]) => `${a}..${b}`).join(', ') : '-');
const n = (v: number | null) => (v === null ? '-' : v);

/** Formats an audit report for people. */
export function formatAuditReport(r: AuditReport): string {
  const table = renderTable(
    ['topic', 'partition', 'committed offsets', 'manifests', 'files', 'rows', 'expected', 'distinct _offset', 'dups', 'quarantined', 'expected', 'latest event time'],
    r.partitions.map((p) => [
      p.topic,
      p.partition,
      range(p.ranges) + (p.pendingAttempt ? ' (+pending)' : ''),
      p.manifests,
      p.files,
      n(p.rows),
      p.expectedRows,
      n(p.distinctOffsets),
      n(p.duplicates),
      p.quarantined,
      p.expectedQuarantined,
      p.latestEventTime ?? '-',
    ]),
  );
  const t = r.totals;
  const staged = r.partitions.some((p) => p.stagedRows !== undefined) ? r.partitions.reduce((s, p) => s + (p.stagedRows ?? 0), 0) : null;
  const lines = [
    `audit ${r.table}: ${t.manifests} commit manifests, ${t.files} data files, ${n(t.rows)} rows (manifests: ${t.expectedRows}), ${t.quarantined} quarantined (manifests: ${t.expectedQuarantined})` +
      (staged !== null ? `, ${staged} rows staged for the next Iceberg snapshot` : ''),
    '',
    table.trimEnd(),
    '',
  ];
  if (r.ok) lines.push('OK: offsets contiguous, no duplicates, every object accounted for, counts reconciled');
  else {
    lines.push(`FAILED: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'}`);
    for (const p of r.problems) {
      const where = p.key ?? (p.topic !== undefined ? `${p.topic}-${p.partition}` : '');
      lines.push(`  ${p.kind.padEnd(19)} ${where}${where ? ': ' : ''}${p.detail}`);
    }
  }
  lines.push(`(SQL scanned ${formatBytes(t.dataScannedBytes)}, $${t.costUsd.toFixed(6)} at Athena list price)`);
  return lines.join('\n') + '\n';
}

/**
 * Runs an audit for the CLI.
 * @returns exit code 0 (clean), 1 (problems found) or 2 (the audit could not run), and the report
 */
export async function runAudit(ctx: CliContext, flags: AuditFlags, io: CommandIo = stdio): Promise<{ exitCode: number; report?: AuditReport }> {
  try {
    const pipeline = getPipeline(flags.table);
    const reporter = stateReporter();
    const report = await auditTable(
      {
        store: new S3ObjectStore(ctx.s3(), ctx.bucket),
        sql: sqlRunner(ctx, { onState: process.stderr.isTTY && !flags.json ? reporter.onState : undefined }),
        database: ctx.database,
        catalog: new GlueCatalog(ctx.glue()),
        bucket: ctx.bucket,
      },
      pipeline,
    );
    reporter.done();
    io.out(flags.json ? `${JSON.stringify(report)}\n` : formatAuditReport(report));
    return { exitCode: report.ok ? 0 : 1, report };
  } catch (e) {
    io.err(`lakeloader audit: ${errorText(e)}\n`);
    return { exitCode: 2 };
  }
}

/** Registers `lakeloader audit`. */
export function register(program: Command): void {
  withContextOptions(
    program
      .command('audit')
      .description('prove every committed Kafka offset is in the table or the quarantine exactly once; exits 1 on any duplicate, gap, lost or stray object or count mismatch')
      .requiredOption('--table <name>', 'the pipeline (table) to audit')
      .option('--json', 'print the report as one JSON object'),
  ).action(async (flags: AuditFlags) => {
    const { exitCode } = await runAudit(resolveContext(flags), flags);
    process.exitCode = exitCode;
  });
}
