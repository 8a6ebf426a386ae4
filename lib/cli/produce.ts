/**
 * `lakeloader produce --topic T [--file x.ndjson] [--key-field f] [--partition-by f]`: feeds a
 * topic without writing code. Each non-empty line of the file (or of standard input) becomes one
 * record whose value is the line's bytes, unchanged — a malformed line is produced as it is, for
 * the loader to quarantine. `--key-field` takes the record key from a top-level field of the
 * line's JSON; `--partition-by` picks the partition from a field's value with Kafka's default
 * partitioner (murmur2, as the Java client), so equal values land in one partition; without it
 * keyed records go by key and the rest round-robin. Prints a JSON summary.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { ensureTopic, produceRecords, topicPartitions, withAdmin, type KafkaConnection } from '../local/kafka-client';
import type { ProducedRecord } from '../local/msk-event';
import { errorText, stdio, type CommandIo } from '../ops/io';
import { kafkaConnection, withKafkaOptions, type KafkaFlags } from './kafka-options';
import { LakeloaderError } from '../../lambdas/core/errors';

export interface ProduceFlags extends KafkaFlags {
  topic: string;
  file?: string;
  keyField?: string;
  partitionBy?: string;
  partitions?: string;
  compression?: string;
}

export interface ProduceSummary {
  topic: string;
  produced: number;
  /** Records per partition. */
  partitions: Record<string, number>;
  /** Lines that are not JSON objects or lack the key/partition field (produced all the same, without key / round-robin). */
  withoutField: number;
  /** Empty lines skipped. */
  emptyLines: number;
}

/** Thrown for invalid `produce` flags. */
export class ProduceOptionError extends LakeloaderError {
  readonly code = 'PRODUCE_OPTION';
  constructor(message: string) {
    super(message);
  }
}

/** Kafka's default partitioner hash (murmur2 as org.apache.kafka.common.utils.Utils.murmur2, positive). */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const len = data.length;
  let h = (0x9747b28c ^ len) | 0;
  const words = len >> 2;
  for (let i = 0; i < words; i++) {
    const o = i * 4;
    let k = data[o]! | (data[o + 1]! << 8) | (data[o + 2]! << 16) | (data[o + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = len & 3;
  const tail = words * 4;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h & 0x7fffffff;
}

/** A top-level field of a JSON object line, as the text used for keys and partitioning; undefined when absent. */
function fieldText(line: string, field: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const f = (v as Record<string, unknown>)[field];
  if (f === undefined || f === null) return undefined;
  return typeof f === 'string' ? f : JSON.stringify(f);
}

/** Produces the lines of `input` to a topic. */
export async function produceLines(conn: KafkaConnection, input: Readable, opts: { topic: string; keyField?: string; partitionBy?: string; partitions?: number; compression?: 'none' | 'gzip' | 'snappy' | 'lz4' }): Promise<ProduceSummary> {
  const partitionsOf = opts.partitions !== undefined ? await ensureTopic(conn, opts.topic, opts.partitions) : await withAdmin(conn, (a) => topicPartitions(a, opts.topic));
  const summary: ProduceSummary = { topic: opts.topic, produced: 0, partitions: {}, withoutField: 0, emptyLines: 0 };
  let rr = 0;
  let batch: ProducedRecord[] = [];
  const flush = async () => {
    if (!batch.length) return;
    await produceRecords(conn, batch, { compression: opts.compression });
    batch = [];
  };
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (!line.trim()) {
      summary.emptyLines++;
      continue;
    }
    const key = opts.keyField ? fieldText(line, opts.keyField) : undefined;
    const by = opts.partitionBy ? fieldText(line, opts.partitionBy) : key;
    if ((opts.keyField && key === undefined) || (opts.partitionBy && by === undefined)) summary.withoutField++;
    const partition = by !== undefined ? murmur2(Buffer.from(by, 'utf8')) % partitionsOf : rr++ % partitionsOf;
    batch.push({ topic: opts.topic, partition, offset: 0, timestamp: Date.now(), key: key ?? null, value: line });
    summary.produced++;
    summary.partitions[String(partition)] = (summary.partitions[String(partition)] ?? 0) + 1;
    if (batch.length >= 1000) await flush();
  }
  await flush();
  return summary;
}

/** Runs `produce` for the CLI. @returns exit code 0, 1 when nothing could be produced */
export async function runProduce(flags: ProduceFlags, io: CommandIo = stdio, stdin: Readable = process.stdin): Promise<number> {
  try {
    const compression = (flags.compression ?? 'none') as 'none' | 'gzip' | 'snappy' | 'lz4';
    if (!['none', 'gzip', 'snappy', 'lz4'].includes(compression)) throw new ProduceOptionError(`--compression must be none, gzip, snappy or lz4, got "${flags.compression}"`);
    const partitions = flags.partitions === undefined ? undefined : Number(flags.partitions);
    if (partitions !== undefined && (!Number.isInteger(partitions) || partitions < 1)) throw new ProduceOptionError(`--partitions must be a positive integer, got "${flags.partitions}"`);
    const input = flags.file && flags.file !== '-' ? createReadStream(flags.file) : stdin;
    const summary = await produceLines(kafkaConnection(flags), input, { topic: flags.topic, keyField: flags.keyField, partitionBy: flags.partitionBy, partitions, compression });
    io.out(`${JSON.stringify(summary)}\n`);
    if (summary.withoutField) io.err(`lakeloader produce: ${summary.withoutField} line(s) had no "${flags.partitionBy ?? flags.keyField}" field: produced without key, round-robin\n`);
    return 0;
  } catch (e) {
    io.err(`lakeloader produce: ${errorText(e)}\n`);
    return 1;
  }
}

/** Registers `lakeloader produce`. */
export function register(program: Command): void {
  withKafkaOptions(
    program
      .command('produce')
      .description('produce the lines of an NDJSON file (or stdin) to a Kafka topic, one record per line, value unchanged; prints a JSON summary')
      .requiredOption('--topic <name>', 'the topic (created on first use when the broker auto-creates topics)')
      .option('--file <path>', 'NDJSON file; - or omitted reads standard input')
      .option('--key-field <field>', 'record key = this top-level JSON field of each line')
      .option('--partition-by <field>', "partition = Kafka's default partitioner over this field (default: the key, else round-robin)")
      .option('--partitions <n>', 'create the topic with (or grow it to) N partitions first')
      .option('--compression <codec>', 'none, gzip, snappy or lz4', 'none'),
  ).action(async (flags: ProduceFlags) => {
    process.exitCode = await runProduce(flags);
  });
}
