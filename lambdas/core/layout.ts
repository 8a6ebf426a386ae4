/**
 * Where everything lives in the lake bucket. One place, so that the loader, the CDK construct
 * (IAM is scoped to these prefixes), the local endpoint and the CLI agree.
 *
 * ```
 * tables/<table>/<k1=v1>/<k2=v2>/part-<topic>-<kafkaPartition>-<firstOffset>-<lastOffset>-g<gen>.parquet
 * quarantine/<table>/<topic>-<kafkaPartition>-<firstOffset>-<lastOffset>-g<gen>.ndjson
 * _lakeloader/state/<table>/<topic>/<kafkaPartition>.json
 * _lakeloader/manifests/<table>/<topic>/<kafkaPartition>/<firstOffset>-<lastOffset>-g<gen>.json
 * athena-results/
 * aws/lambda/<esm-uuid>/<topic-partition>/YYYY/MM/DD/<time>-<uuid>   (the ESM's S3 on-failure records)
 * ```
 * Offsets are zero-padded to 20 digits so that keys sort in offset order. `gen` is the commit
 * state's attempt generation: keys come from Kafka coordinates and the state, never from clocks
 * or random ids, and no two attempts ever share a key.
 */

export const TABLES_PREFIX = 'tables/';
export const QUARANTINE_PREFIX = 'quarantine/';
export const STATE_PREFIX = '_lakeloader/state/';
export const MANIFESTS_PREFIX = '_lakeloader/manifests/';
export const ATHENA_RESULTS_PREFIX = 'athena-results/';
/**
 * Where the event source mapping's S3 on-failure destination writes. AWS chooses these keys
 * (`aws/lambda/<mapping uuid>/<partition>/YYYY/MM/DD/...`): the destination is a bucket and takes
 * no prefix. The local event source mapping writes the same keys.
 */
export const ESM_FAILURES_PREFIX = 'aws/lambda/';

/** Prefix of a table's Parquet data (the Glue table location). */
export const dataPrefix = (table: string) => `${TABLES_PREFIX}${table}/`;
/** Prefix of a table's quarantine NDJSON (the quarantine table location). */
export const quarantinePrefix = (table: string) => `${QUARANTINE_PREFIX}${table}/`;
export const statePrefix = (table: string) => `${STATE_PREFIX}${table}/`;
export const manifestsPrefix = (table: string) => `${MANIFESTS_PREFIX}${table}/`;

/** Kafka topic names are `[a-zA-Z0-9._-]`, all safe in keys; anything else is percent-encoded. */
export const safeTopic = (topic: string) => topic.replace(/[^a-zA-Z0-9._-]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
export const padOffset = (offset: number | bigint) => String(offset).padStart(20, '0');

export function stateKey(table: string, topic: string, partition: number): string {
  return `${statePrefix(table)}${safeTopic(topic)}/${partition}.json`;
}

export interface AttemptCoordinates {
  table: string;
  topic: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  generation: number;
}

const attemptName = (a: AttemptCoordinates) =>
  `${safeTopic(a.topic)}-${a.partition}-${padOffset(a.firstOffset)}-${padOffset(a.lastOffset)}-g${a.generation}`;

/** Key of one Parquet file; `hivePath` is the escaped `k=v/k=v` path (see partition.ts). */
export function dataKey(a: AttemptCoordinates, hivePath: string): string {
  return `${dataPrefix(a.table)}${hivePath ? `${hivePath}/` : ''}part-${attemptName(a)}.parquet`;
}

export function quarantineKey(a: AttemptCoordinates): string {
  return `${quarantinePrefix(a.table)}${attemptName(a)}.ndjson`;
}

export function manifestKey(a: AttemptCoordinates): string {
  return `${manifestsPrefix(a.table)}${safeTopic(a.topic)}/${a.partition}/${padOffset(a.firstOffset)}-${padOffset(a.lastOffset)}-g${a.generation}.json`;
}

export const s3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

/** The content type of each kind of object the lake holds (data files, quarantine NDJSON, state and manifests). */
export const CONTENT_TYPE = { parquet: 'application/vnd.apache.parquet', ndjson: 'application/x-ndjson', json: 'application/json' } as const;
