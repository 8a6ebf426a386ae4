/**
 * Iceberg table metadata (format v2): the JSON file a table's `metadata_location` points at,
 * read and written exactly — other writers (Athena, the Glue optimizers) use 64-bit snapshot ids
 * beyond 2^53, kept here as `bigint` and written back as the same digits.
 */
import { parseJsonExact } from '../json';
import type { IcebergSchema, PartitionSpec } from './schema';

/** A snapshot id: a number when it fits in 2^53 (ours always do), else a bigint (another writer's). */
export type SnapshotId = number | bigint;

export interface Snapshot {
  'snapshot-id': SnapshotId;
  'parent-snapshot-id'?: SnapshotId | null;
  'sequence-number': number;
  'timestamp-ms': number;
  'manifest-list': string;
  summary: Record<string, string> & { operation: string };
  'schema-id'?: number;
}

export interface TableMetadata {
  'format-version': 2;
  'table-uuid': string;
  location: string;
  'last-sequence-number': number;
  'last-updated-ms': number;
  'last-column-id': number;
  'current-schema-id': number;
  schemas: IcebergSchema[];
  'default-spec-id': number;
  'partition-specs': PartitionSpec[];
  'last-partition-id': number;
  'default-sort-order-id': number;
  'sort-orders': { 'order-id': number; fields: unknown[] }[];
  properties: Record<string, string>;
  'current-snapshot-id': SnapshotId | null;
  refs: Record<string, { 'snapshot-id': SnapshotId; type: 'branch' | 'tag' }>;
  snapshots: Snapshot[];
  statistics?: unknown[];
  'snapshot-log': { 'timestamp-ms': number; 'snapshot-id': SnapshotId }[];
  'metadata-log': { 'timestamp-ms': number; 'metadata-file': string }[];
  [other: string]: unknown;
}

/** Parses a metadata file exactly (big snapshot ids stay bigint). */
export function parseMetadata(text: string): TableMetadata {
  return parseJsonExact(text, 10_000) as TableMetadata;
}

/** JSON with bigints written as plain integer digits (as Iceberg writers read them). */
export function stringifyMetadata(m: unknown): string {
  const marks: string[] = [];
  const text = JSON.stringify(m, (_k, v: unknown) => {
    if (typeof v !== 'bigint') return v;
    marks.push(v.toString());
    return `\u0000big${marks.length - 1}\u0000`;
  });
  return marks.length ? text.replace(/"\\u0000big(\d+)\\u0000"/g, (_, i: string) => marks[Number(i)]!) : text;
}

/** The current snapshot, or null for an empty table. */
export function currentSnapshot(m: TableMetadata): Snapshot | null {
  const id = m['current-snapshot-id'];
  if (id === null || id === undefined || id === -1 || id === -1n) return null;
  return m.snapshots.find((s) => s['snapshot-id'] == id) ?? null; // == : a number and a bigint of one id are the same snapshot
}

/** A snapshot by id (number or bigint alike). */
export function snapshotById(m: TableMetadata, id: SnapshotId): Snapshot | undefined {
  return m.snapshots.find((s) => s['snapshot-id'] == id); // eslint-disable-line eqeqeq
}

/** The metadata of a new, empty table. */
export function newTableMetadata(args: { uuid: string; location: string; schema: IcebergSchema; spec: PartitionSpec; lastColumnId: number; lastPartitionId: number; properties: Record<string, string>; now: number }): TableMetadata {
  return {
    'format-version': 2,
    'table-uuid': args.uuid,
    location: args.location,
    'last-sequence-number': 0,
    'last-updated-ms': args.now,
    'last-column-id': args.lastColumnId,
    'current-schema-id': args.schema['schema-id'],
    schemas: [args.schema],
    'default-spec-id': args.spec['spec-id'],
    'partition-specs': [args.spec],
    'last-partition-id': args.lastPartitionId,
    'default-sort-order-id': 0,
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    properties: args.properties,
    'current-snapshot-id': null,
    refs: {},
    snapshots: [],
    statistics: [],
    'snapshot-log': [],
    'metadata-log': [],
  };
}

/**
 * The next version of `m` with `snapshot` as the current one (appended to the log and the main
 * branch), `previousFile` logged as the metadata it replaces, and `properties` merged in.
 */
export function withSnapshot(m: TableMetadata, snapshot: Snapshot, previousFile: string | null, properties: Record<string, string>, now: number): TableMetadata {
  return {
    ...m,
    'last-sequence-number': snapshot['sequence-number'],
    'last-updated-ms': now,
    properties: { ...m.properties, ...properties },
    'current-snapshot-id': snapshot['snapshot-id'],
    refs: { ...m.refs, main: { 'snapshot-id': snapshot['snapshot-id'], type: 'branch' } },
    snapshots: [...m.snapshots, snapshot],
    'snapshot-log': [...m['snapshot-log'], { 'timestamp-ms': snapshot['timestamp-ms'], 'snapshot-id': snapshot['snapshot-id'] }],
    'metadata-log': previousFile ? [...m['metadata-log'], { 'timestamp-ms': m['last-updated-ms'], 'metadata-file': previousFile }].slice(-100) : m['metadata-log'],
  };
}

/**
 * The next version of `m` with `schema` added to its schemas as the current one (a fresh
 * `schema-id`, one above every id in use) and `last-column-id` raised to `lastColumnId`; the
 * snapshots stay as they are (each names the schema it was written with).
 */
export function withSchema(m: TableMetadata, schema: IcebergSchema, lastColumnId: number, previousFile: string | null, now: number): TableMetadata {
  const id = Math.max(-1, ...m.schemas.map((s) => s['schema-id'])) + 1;
  return {
    ...m,
    'last-updated-ms': now,
    'last-column-id': Math.max(m['last-column-id'], lastColumnId),
    'current-schema-id': id,
    schemas: [...m.schemas, { ...schema, 'schema-id': id }],
    'metadata-log': previousFile ? [...m['metadata-log'], { 'timestamp-ms': m['last-updated-ms'], 'metadata-file': previousFile }].slice(-100) : m['metadata-log'],
  };
}

/** The metadata file name of version `version` (`00007-<uuid>.metadata.json`, as Iceberg names them). */
export function metadataFileName(version: number, uuid: string): string {
  return `${String(version).padStart(5, '0')}-${uuid}.metadata.json`;
}

/** The version number of a metadata file name (its leading digits), or -1. */
export function metadataVersion(location: string): number {
  const m = /\/(\d+)-[^/]*\.metadata\.json$/.exec(location);
  return m ? Number(m[1]) : -1;
}
