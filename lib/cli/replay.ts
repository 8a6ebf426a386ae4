/**
 * `lakeloader replay`: re-drives quarantined records (optionally through a fix function) into the
 * table through the loader's own pipeline code, exactly once, then the ESM's on-failure records
 * (see lib/ops/replay.ts, lib/ops/redrive.ts and docs/operations.md). Exits 1 when something
 * failed or an on-failure record needs `--brokers`.
 */
import type { Command } from 'commander';
import { getPipeline } from '../pipelines';
import { replayDeps } from '../ops/deps';
import { parseTime } from '../ops/format';
import { errorText, stdio, type CommandIo } from '../ops/io';
import { progressBar } from '../ops/progress';
import { redriveEsmFailures, type RedriveSummary } from '../ops/redrive';
import { loadFixModule, replayQuarantine, withReplayLock, type ReplaySummary } from '../ops/replay';
import { S3ObjectStore } from '../../lambdas/core/store';
import { resolveContext, withContextOptions, type CliContext, type ContextFlags } from './context';
import { kafkaConnection, withKafkaAuthOptions, type KafkaFlags } from './kafka-options';

export interface ReplayFlags extends ContextFlags, Omit<KafkaFlags, 'bootstrap'> {
  table: string;
  since?: string;
  until?: string;
  stage?: string;
  match?: string;
  fix?: string;
  dryRun?: boolean;
  json?: boolean;
  /** Kafka bootstrap servers, for on-failure records without payload. */
  brokers?: string;
  /** false with --no-esm-failures. */
  esmFailures?: boolean;
  breakLock?: boolean;
}

const STAGES = ['decode', 'schema', 'transform', 'conform', 'partition'];

/** Formats the replay summary for people. */
export function formatReplaySummary(table: string, s: ReplaySummary): string {
  const stages = Object.entries(s.stillFailingByStage)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const lines = [
    `replay ${table}${s.dryRun ? ' (dry run: nothing written)' : ''}: ${s.objects} quarantine objects read, ${s.objectsChanged} ${s.dryRun ? 'would change' : 'changed'}`,
    `  selected        ${s.selected}${s.notSelected ? `  (${s.notSelected} not matching the filters stay as they are)` : ''}`,
    `  replayed        ${s.replayed} → ${s.rows} rows in ${s.files} files${s.partitionsRegistered ? `, ${s.partitionsRegistered} new partitions registered` : ''}`,
    `  still failing   ${s.stillFailing}${stages ? `  (${stages}; they stay quarantined, with this run's stage and reason)` : ''}`,
    `  skipped         ${s.skipped}${s.skipped ? '  (the fix returned null)' : ''}`,
    `  filtered        ${s.filtered}${s.filtered ? '  (the transform now drops them)' : ''}`,
  ];
  if (s.uncommitted) lines.push(`  left alone      ${s.uncommitted} quarantine object${s.uncommitted === 1 ? '' : 's'} of attempts not committed yet (the ESM's retry owns them)`);
  if (s.resumed) lines.push(`  resumed         ${s.resumed} interrupted replay${s.resumed === 1 ? '' : 's'} finished`);
  return lines.join('\n') + '\n';
}

/** Formats the ESM re-drive summary for people. */
export function formatRedriveSummary(r: RedriveSummary): string {
  const lines = [
    `ESM on-failure records: ${r.failureRecords} found${r.alreadyDone ? `, ${r.alreadyDone} already re-driven` : ''}${r.dryRun ? ' (dry run)' : ''}`,
  ];
  if (r.records) {
    lines.push(`  records         ${r.records}: ${r.present} already in the lake (skipped), ${r.committed} committed after the last offset, ${r.recovered} recovered below it`);
    if (!r.dryRun) lines.push(`  result          ${r.rows} rows, ${r.quarantined} quarantined`);
  }
  if (r.needKafka.length) lines.push(`  need --brokers  ${r.needKafka.length} record${r.needKafka.length === 1 ? ' has' : 's have'} no payload: ${r.needKafka.join(', ')}`);
  return lines.join('\n') + '\n';
}

/**
 * Runs a replay for the CLI.
 * @returns the process exit code (0 done, 1 failed) and the summary
 */
export async function runReplay(ctx: CliContext, flags: ReplayFlags, io: CommandIo = stdio): Promise<{ exitCode: number; summary?: ReplaySummary; redrive?: RedriveSummary }> {
  try {
    const pipeline = getPipeline(flags.table);
    if (flags.stage && !STAGES.includes(flags.stage)) throw new Error(`--stage must be one of ${STAGES.join(', ')}, got "${flags.stage}"`);
    const fix = flags.fix ? await loadFixModule(flags.fix) : undefined;
    const work = async (): Promise<{ summary: ReplaySummary; redrive?: RedriveSummary }> => {
      const bar = progressBar('replay');
      let summary: ReplaySummary;
      try {
        summary = await replayQuarantine(replayDeps(ctx), pipeline, {
          filter: {
            since: flags.since ? parseTime(flags.since) : undefined,
            until: flags.until ? parseTime(flags.until) : undefined,
            stage: flags.stage,
            match: flags.match,
          },
          fix,
          dryRun: flags.dryRun,
          onProgress: (d, t) => bar.update(d, t),
        });
      } finally {
        bar.stop();
      }
      // On-failure records are whole Kafka batches: the record filters and the fix do not apply to them.
      let redrive: RedriveSummary | undefined;
      if (flags.esmFailures !== false) {
        const bar2 = progressBar('re-drive');
        try {
          redrive = await redriveEsmFailures(replayDeps(ctx), pipeline, {
            dryRun: flags.dryRun,
            fetch: flags.brokers ? (await import('../ops/kafka-fetch')).kafkaFetcher(kafkaConnection({ ...flags, bootstrap: flags.brokers })) : undefined,
            onProgress: (d, t) => bar2.update(d, t),
          });
        } finally {
          bar2.stop();
        }
      }
      return { summary, redrive };
    };
    // A dry run writes nothing, not even the lock.
    const { summary, redrive } = flags.dryRun
      ? await work()
      : await withReplayLock(new S3ObjectStore(ctx.s3(), ctx.bucket), pipeline.name, work, { breakLock: flags.breakLock });
    io.out(
      flags.json
        ? `${JSON.stringify({ table: pipeline.name, ...summary, esmFailures: redrive ?? null })}\n`
        : formatReplaySummary(pipeline.name, summary) + (redrive ? formatRedriveSummary(redrive) : ''),
    );
    return { exitCode: redrive?.needKafka.length ? 1 : 0, summary, redrive };
  } catch (e) {
    io.err(`lakeloader replay: ${errorText(e)}\n`);
    return { exitCode: 1 };
  }
}

/** Registers `lakeloader replay`. */
export function register(program: Command): void {
  withContextOptions(
    withKafkaAuthOptions(program
      .command('replay')
      .description('load quarantined records into the table through the pipeline code (optionally through a fix function); idempotent by the original Kafka coordinates')
      .requiredOption('--table <name>', 'the pipeline (table) whose quarantine to replay')
      .option('--since <time>', 'only records whose Kafka timestamp is at or after TIME (ISO-8601, epoch ms, or 90m / 6h / 3d ago)')
      .option('--until <time>', 'only records whose Kafka timestamp is before TIME')
      .option('--stage <stage>', `only records that failed at this stage (${STAGES.join(', ')})`)
      .option('--match <text>', 'only records whose error or value contains TEXT (case-insensitive)')
      .option('--fix <module>', 'a .js/.ts module exporting fix(entry) => { value?, key?, headers? } | null (null skips the record)')
      .option('--dry-run', 'report what would happen; write nothing')
      .option('--brokers <list>', 'Kafka bootstrap servers (host:port,...) to fetch the records of ESM on-failure records that carry no payload')
      .option('--no-esm-failures', 'do not re-drive the ESM on-failure records under aws/lambda/')
      .option('--break-lock', 'take over the table\'s replay lock left by a replay that died')
      .option('--json', 'print the summary as one JSON object')),
  ).action(async (flags: ReplayFlags) => {
    const { exitCode } = await runReplay(resolveContext(flags), flags);
    process.exitCode = exitCode;
  });
}
