/**
 * `lakeloader produce --topic T [--file x.ndjson] [--key-field f] [--partition-by f]`: feeds a
 * topic without writing code. Each non-empty line of the file (or of standard input) becomes one
 * record whose value is the line's bytes, unchanged — a malformed line is produced as it is, for
 * the loader to quarantine. `--key-field` takes the record key from a top-level field of the
 * line's JSON; `--partition-by` picks the partition from a field's value with Kafka's default
 * partitioner (murmur2, as the Java client), so equal values land in one partition; without it
 * keyed records go by key and the rest round-robin. Prints a JSON summary.
 *
 * `--format avro|protobuf --schema file` encodes each line (JSON) with that schema instead, as
 * Confluent's serializers do: the schema is registered under `--subject` (default
 * `<topic>-value`) in the registry at `--registry` if absent, and each value is framed with its
 * id (lib/ops/registry.ts). A line that does not fit the schema is not produced: it is counted
 * and reported, and the command exits 1.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { ensureTopic, produceRecords, topicPartitions, withAdmin, type KafkaConnection } from '../local/kafka-client';
import type { ProducedRecord } from '../local/msk-event';
import { errorText, stdio, type CommandIo } from '../ops/io';
import { registeredEncoderFromFile, type RegisteredEncoder } from '../ops/registry';
import { kafkaConnection, withKafkaOptions, type KafkaFlags } from './kafka-options';
import { LakeloaderError } from '../../lambdas/core/errors';

export interface ProduceFlags extends KafkaFlags {
  topic: string;
  file?: string;
  keyField?: string;
  partitionBy?: string;
  partitions?: string;
  compression?: string;
  format?: string;
  schema?: string;
  subject?: string;
  registry?: string;
  message?: string;
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
  /** With --format avro|protobuf: the schema's id, subject and whether this run registered it. */
  schema?: { id: number; subject: string; registered: boolean };
  /** Lines that did not fit the schema (not produced); the first reasons. */
  unencodable?: number;
  errors?: string[];
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
export async function produceLines(
  conn: KafkaConnection,
  input: Readable,
  opts: { topic: string; keyField?: string; partitionBy?: string; partitions?: number; compression?: 'none' | 'gzip' | 'snappy' | 'lz4'; encoder?: RegisteredEncoder },
): Promise<ProduceSummary> {
  const partitionsOf = opts.partitions !== undefined ? await ensureTopic(conn, opts.topic, opts.partitions) : await withAdmin(conn, (a) => topicPartitions(a, opts.topic));
  const enc = opts.encoder;
  const summary: ProduceSummary = { topic: opts.topic, produced: 0, partitions: {}, withoutField: 0, emptyLines: 0, ...(enc ? { schema: { id: enc.schemaId, subject: enc.subject, registered: enc.registered }, unencodable: 0, errors: [] } : {}) };
  let rr = 0;
  let lineNo = 0;
  let batch: ProducedRecord[] = [];
  const flush = async () => {
    if (!batch.length) return;
    await produceRecords(conn, batch, { compression: opts.compression });
    batch = [];
  };
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNo++;
    if (!line.trim()) {
      summary.emptyLines++;
      continue;
    }
    let value: string | Buffer = line;
    if (enc) {
      try {
        value = enc.encodeJson(line);
      } catch (e) {
        summary.unencodable!++;
        if (summary.errors!.length < 5) summary.errors!.push(`line ${lineNo}: ${(e as Error).message}`);
        continue;
      }
    }
    const key = opts.keyField ? fieldText(line, opts.keyField) : undefined;
    const by = opts.partitionBy ? fieldText(line, opts.partitionBy) : key;
    if ((opts.keyField && key === undefined) || (opts.partitionBy && by === undefined)) summary.withoutField++;
    const partition = by !== undefined ? murmur2(Buffer.from(by, 'utf8')) % partitionsOf : rr++ % partitionsOf;
    batch.push({ topic: opts.topic, partition, offset: 0, timestamp: Date.now(), key: key ?? null, value });
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
    const format = flags.format ?? 'json';
    if (format !== 'json' && format !== 'avro' && format !== 'protobuf') throw new ProduceOptionError(`--format must be json, avro or protobuf, got "${format}"`);
    let encoder: RegisteredEncoder | undefined;
    if (format === 'json') {
      if (flags.schema || flags.subject || flags.message) throw new ProduceOptionError('--schema, --subject and --message encode with a registered schema: add --format avro or --format protobuf');
    } else {
      if (!flags.schema) throw new ProduceOptionError(`--format ${format} needs --schema <file> (${format === 'avro' ? '.avsc' : '.proto'}), registered under --subject (default <topic>-value) if absent`);
      if (flags.message && format !== 'protobuf') throw new ProduceOptionError('--message names a Protobuf message; it is only for --format protobuf');
      const registryUrl = flags.registry ?? process.env.LAKELOADER_SCHEMA_REGISTRY_URL ?? 'http://localhost:8081';
      encoder = await registeredEncoderFromFile({ registryUrl, subject: flags.subject ?? `${flags.topic}-value`, format, schemaFile: flags.schema, ...(flags.message ? { message: flags.message } : {}) });
    }
    const input = flags.file && flags.file !== '-' ? createReadStream(flags.file) : stdin;
    const summary = await produceLines(kafkaConnection(flags), input, { topic: flags.topic, keyField: flags.keyField, partitionBy: flags.partitionBy, partitions, compression, ...(encoder ? { encoder } : {}) });
    io.out(`${JSON.stringify(summary)}\n`);
    if (summary.withoutField) io.err(`lakeloader produce: ${summary.withoutField} line(s) had no "${flags.partitionBy ?? flags.keyField}" field: produced without key, round-robin\n`);
    if (summary.unencodable) {
      io.err(`lakeloader produce: ${summary.unencodable} line(s) did not fit the ${format} schema and were not produced:\n${summary.errors!.map((e) => `  ${e}\n`).join('')}`);
      return 1;
    }
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
      .description('produce the lines of an NDJSON file (or stdin) to a Kafka topic, one record per line, value unchanged (or encoded with a registered Avro/Protobuf schema); prints a JSON summary')
      .requiredOption('--topic <name>', 'the topic (created on first use when the broker auto-creates topics)')
      .option('--file <path>', 'NDJSON file; - or omitted reads standard input')
      .option('--key-field <field>', 'record key = this top-level JSON field of each line')
      .option('--partition-by <field>', "partition = Kafka's default partitioner over this field (default: the key, else round-robin)")
      .option('--partitions <n>', 'create the topic with (or grow it to) N partitions first')
      .option('--compression <codec>', 'none, gzip, snappy or lz4', 'none')
      .option('--format <format>', 'json (each line as it is), or avro / protobuf: each JSON line encoded with --schema and framed as Confluent serializers do', 'json')
      .option('--schema <file>', 'the .avsc or .proto schema to encode with (registered if absent)')
      .option('--subject <name>', 'the registry subject of the schema (default: <topic>-value)')
      .option('--registry <url>', 'Confluent-compatible Schema Registry (default: $LAKELOADER_SCHEMA_REGISTRY_URL, else http://localhost:8081, which lakeloader dev serves)')
      .option('--message <name>', "Protobuf: the message's full name (default: the file's first message)"),
  ).action(async (flags: ProduceFlags) => {
    process.exitCode = await runProduce(flags);
  });
}
