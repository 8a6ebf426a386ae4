/**
 * Iceberg manifests and manifest lists (format v2) as Avro object container files, written and
 * read with avsc, with the spec's schemas and field ids (https://iceberg.apache.org/spec/#manifests).
 * Longs are bigints here: other writers' snapshot ids go beyond 2^53.
 */
import { Readable } from 'node:stream';
import type * as AvscModule from 'avsc';
import type { Pipeline } from '../pipeline';
import { partitionFieldType, type IcebergSchema, type PartitionSpec } from './schema';

interface AvscRuntime {
  avro: typeof AvscModule;
  /** avsc's long as a JS bigint (exact over the whole 64-bit range). */
  bigLong: AvscModule.Type;
  /**
   * Iceberg's `logicalType: map` on arrays of key/value records (maps with non-string keys): values
   * pass through unchanged; declaring it keeps the attribute in the file's schema, where Iceberg
   * readers look for it.
   */
  IcebergMap: unknown;
}
let runtime: AvscRuntime | undefined;
/**
 * avsc, required on first use: a Lambda's init does not parse or run it, and an invocation that
 * publishes nothing (a Hive table, a fresh snapshot) never loads it.
 */
function avsc(): AvscRuntime {
  if (runtime) return runtime;
  const avro = require('avsc') as typeof AvscModule;
  const bigLong = avro.types.LongType.__with({
    fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
    toBuffer: (n: bigint | number) => {
      const buf = Buffer.alloc(8);
      buf.writeBigInt64LE(BigInt(n));
      return buf;
    },
    fromJSON: (v: unknown) => BigInt(v as string),
    toJSON: (n: bigint) => Number(n),
    isValid: (n: unknown) => typeof n === 'bigint' || (typeof n === 'number' && Number.isInteger(n)),
    compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
  });
  class IcebergMap extends avro.types.LogicalType {
    override _fromValue(v: unknown) {
      return v;
    }
    override _toValue(v: unknown) {
      return v;
    }
  }
  return (runtime = { avro, bigLong, IcebergMap });
}

const opt = (type: unknown) => ['null', type];
const kv = (name: string, keyId: number, valueId: number, value: string) => ({
  type: 'array',
  logicalType: 'map',
  items: { type: 'record', name, fields: [{ name: 'key', type: 'int', 'field-id': keyId }, { name: 'value', type: value, 'field-id': valueId }] },
});

const AVRO_PRIMITIVE: Record<string, unknown> = { int: 'int', long: 'long', boolean: 'boolean', string: 'string', float: 'float', double: 'double', date: { type: 'int', logicalType: 'date' } };

/** The manifest_entry schema of a partition spec (spec 0 of a pipeline). */
function manifestEntrySchema(pipeline: Pipeline, spec: PartitionSpec) {
  const partitionFields = spec.fields.map((f) => ({ name: f.name, type: opt(AVRO_PRIMITIVE[partitionFieldType(pipeline, f)] ?? 'string'), default: null, 'field-id': f['field-id'] }));
  return {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      { name: 'status', type: 'int', 'field-id': 0 },
      { name: 'snapshot_id', type: opt('long'), default: null, 'field-id': 1 },
      { name: 'sequence_number', type: opt('long'), default: null, 'field-id': 3 },
      { name: 'file_sequence_number', type: opt('long'), default: null, 'field-id': 4 },
      {
        name: 'data_file',
        'field-id': 2,
        type: {
          type: 'record',
          name: 'r2',
          fields: [
            { name: 'content', type: 'int', 'field-id': 134 },
            { name: 'file_path', type: 'string', 'field-id': 100 },
            { name: 'file_format', type: 'string', 'field-id': 101 },
            { name: 'partition', type: { type: 'record', name: 'r102', fields: partitionFields }, 'field-id': 102 },
            { name: 'record_count', type: 'long', 'field-id': 103 },
            { name: 'file_size_in_bytes', type: 'long', 'field-id': 104 },
            { name: 'column_sizes', type: opt(kv('k117_v118', 117, 118, 'long')), default: null, 'field-id': 108 },
            { name: 'value_counts', type: opt(kv('k119_v120', 119, 120, 'long')), default: null, 'field-id': 109 },
            { name: 'null_value_counts', type: opt(kv('k121_v122', 121, 122, 'long')), default: null, 'field-id': 110 },
            { name: 'nan_value_counts', type: opt(kv('k138_v139', 138, 139, 'long')), default: null, 'field-id': 137 },
            { name: 'lower_bounds', type: opt(kv('k126_v127', 126, 127, 'bytes')), default: null, 'field-id': 125 },
            { name: 'upper_bounds', type: opt(kv('k129_v130', 129, 130, 'bytes')), default: null, 'field-id': 128 },
            { name: 'key_metadata', type: opt('bytes'), default: null, 'field-id': 131 },
            { name: 'split_offsets', type: opt({ type: 'array', items: 'long', 'element-id': 133 }), default: null, 'field-id': 132 },
            { name: 'equality_ids', type: opt({ type: 'array', items: 'int', 'element-id': 136 }), default: null, 'field-id': 135 },
            { name: 'sort_order_id', type: opt('int'), default: null, 'field-id': 140 },
          ],
        },
      },
    ],
  };
}

const MANIFEST_FILE_SCHEMA = {
  type: 'record',
  name: 'manifest_file',
  fields: [
    { name: 'manifest_path', type: 'string', 'field-id': 500 },
    { name: 'manifest_length', type: 'long', 'field-id': 501 },
    { name: 'partition_spec_id', type: 'int', 'field-id': 502 },
    { name: 'content', type: 'int', 'field-id': 517 },
    { name: 'sequence_number', type: 'long', 'field-id': 515 },
    { name: 'min_sequence_number', type: 'long', 'field-id': 516 },
    { name: 'added_snapshot_id', type: 'long', 'field-id': 503 },
    { name: 'added_files_count', type: 'int', 'field-id': 504 },
    { name: 'existing_files_count', type: 'int', 'field-id': 505 },
    { name: 'deleted_files_count', type: 'int', 'field-id': 506 },
    { name: 'added_rows_count', type: 'long', 'field-id': 512 },
    { name: 'existing_rows_count', type: 'long', 'field-id': 513 },
    { name: 'deleted_rows_count', type: 'long', 'field-id': 514 },
    {
      name: 'partitions',
      type: opt({
        type: 'array',
        'element-id': 508,
        items: {
          type: 'record',
          name: 'r508',
          fields: [
            { name: 'contains_null', type: 'boolean', 'field-id': 509 },
            { name: 'contains_nan', type: opt('boolean'), default: null, 'field-id': 518 },
            { name: 'lower_bound', type: opt('bytes'), default: null, 'field-id': 510 },
            { name: 'upper_bound', type: opt('bytes'), default: null, 'field-id': 511 },
          ],
        },
      }),
      default: null,
      'field-id': 507,
    },
    { name: 'key_metadata', type: opt('bytes'), default: null, 'field-id': 519 },
  ],
};

const typeOf = (schema: unknown): AvscModule.Type => {
  const { avro, bigLong, IcebergMap } = avsc();
  return avro.Type.forSchema(schema as AvscModule.Schema, { registry: { long: bigLong } as never, logicalTypes: { map: IcebergMap } as never, wrapUnions: false });
};

/**
 * The reader's type of a container's writer schema, built once per distinct schema in a warm
 * container: every publish, merge and compaction reads manifests written with a handful of schemas,
 * and building an avsc type is most of the cost of reading a small manifest.
 */
const readTypes = new Map<string, AvscModule.Type>();
function readTypeOf(schema: unknown): AvscModule.Type {
  const key = JSON.stringify(schema);
  let t = readTypes.get(key);
  if (!t) {
    if (readTypes.size >= 64) readTypes.delete(readTypes.keys().next().value!);
    t = typeOf(schema);
    readTypes.set(key, t);
  }
  return t;
}

/** 0 existing, 1 added, 2 deleted. */
export type EntryStatus = 0 | 1 | 2;

export interface DataFileEntry {
  status: EntryStatus;
  snapshot_id: bigint | null;
  sequence_number: bigint | null;
  file_sequence_number: bigint | null;
  data_file: {
    content: number;
    file_path: string;
    file_format: string;
    partition: Record<string, number | string | boolean | null>;
    record_count: bigint;
    file_size_in_bytes: bigint;
    column_sizes?: { key: number; value: bigint }[] | null;
    value_counts: { key: number; value: bigint }[] | null;
    null_value_counts: { key: number; value: bigint }[] | null;
    nan_value_counts?: { key: number; value: bigint }[] | null;
    lower_bounds: { key: number; value: Buffer }[] | null;
    upper_bounds: { key: number; value: Buffer }[] | null;
    key_metadata?: Buffer | null;
    split_offsets?: bigint[] | null;
    equality_ids?: number[] | null;
    sort_order_id: number | null;
  };
}

export interface ManifestFileEntry {
  manifest_path: string;
  manifest_length: bigint;
  partition_spec_id: number;
  content: number;
  sequence_number: bigint;
  min_sequence_number: bigint;
  added_snapshot_id: bigint;
  added_files_count: number;
  existing_files_count: number;
  deleted_files_count: number;
  added_rows_count: bigint;
  existing_rows_count: bigint;
  deleted_rows_count: bigint;
  partitions: { contains_null: boolean; contains_nan: boolean | null; lower_bound: Buffer | null; upper_bound: Buffer | null }[] | null;
  key_metadata: Buffer | null;
}

async function writeContainer(type: AvscModule.Type, records: unknown[], metadata: Record<string, string>): Promise<Buffer> {
  const meta = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v)]));
  const enc = new (avsc().avro.streams.BlockEncoder)(type, { codec: 'null', metadata: meta } as never);
  const chunks: Buffer[] = [];
  enc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    enc.on('end', () => resolve());
    enc.on('error', reject);
  });
  for (const r of records) enc.write(r);
  enc.end();
  await done;
  return Buffer.concat(chunks);
}

async function readContainer<T>(bytes: Uint8Array): Promise<{ records: T[]; metadata: Record<string, string> }> {
  const records: T[] = [];
  let metadata: Record<string, string> = {};
  const dec = new (avsc().avro.streams.BlockDecoder)({ parseHook: readTypeOf } as never);
  dec.on('metadata', (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
    metadata = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString()]));
  });
  await new Promise<void>((resolve, reject) => {
    dec.on('data', (r: T) => records.push(r));
    dec.on('end', () => resolve());
    dec.on('error', reject);
    Readable.from([Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]).pipe(dec);
  });
  return { records, metadata };
}

/** A manifest file of data file entries for spec `spec` of `schema`. */
export function writeManifest(pipeline: Pipeline, schema: IcebergSchema, spec: PartitionSpec, entries: DataFileEntry[]): Promise<Buffer> {
  return writeContainer(typeOf(manifestEntrySchema(pipeline, spec)), entries, {
    schema: JSON.stringify(schema),
    'schema-id': String(schema['schema-id']),
    'partition-spec': JSON.stringify(spec.fields),
    'partition-spec-id': String(spec['spec-id']),
    'format-version': '2',
    content: 'data',
  });
}

/** A manifest list. */
export function writeManifestList(entries: ManifestFileEntry[], snapshotId: bigint, parentId: bigint | null, sequenceNumber: bigint): Promise<Buffer> {
  return writeContainer(typeOf(MANIFEST_FILE_SCHEMA), entries, {
    'snapshot-id': snapshotId.toString(),
    'parent-snapshot-id': parentId === null ? 'null' : parentId.toString(),
    'sequence-number': sequenceNumber.toString(),
    'format-version': '2',
  });
}

/** Reads a manifest (with the writer's schema: any writer's manifest, ours or another engine's). */
export async function readManifest(bytes: Uint8Array): Promise<{ entries: DataFileEntry[]; metadata: Record<string, string> }> {
  const { records, metadata } = await readContainer<DataFileEntry>(bytes);
  return { entries: records, metadata };
}

/** Reads a manifest list. */
export async function readManifestList(bytes: Uint8Array): Promise<ManifestFileEntry[]> {
  return (await readContainer<ManifestFileEntry>(bytes)).records;
}
