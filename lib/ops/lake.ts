/**
 * Where the operations tools keep their own records in the lake bucket, and small readers for the
 * loader's records (commit manifests, commit states) that `audit`, `status` and `replay` share.
 *
 * ```
 * _lakeloader/replays/<table>/<quarantine object name>/<etag>.json        replay manifest
 * tables/<table>/<k=v/...>/replay-<quarantine object name>-e<etag12>.parquet   replayed rows
 * ```
 * Both are derived from the quarantine object's key and the ETag it had when it was read, never
 * from clocks or random ids, so a rerun over the same quarantine content lands on the same keys.
 */
import { mapLimited } from '../../lambdas/core/concurrency';
import type { CommitState, Manifest, ManifestFile } from '../../lambdas/core/commit';
import { dataPrefix, manifestsPrefix, quarantinePrefix, statePrefix } from '../../lambdas/core/layout';
import type { ObjectStore } from '../../lambdas/core/store';

export const REPLAYS_PREFIX = '_lakeloader/replays/';
export const replaysPrefix = (table: string) => `${REPLAYS_PREFIX}${table}/`;

/** The quarantine object's file name without `.ndjson` (`clicks-0-…-g3`). */
export function quarantineName(table: string, key: string): string {
  const base = key.startsWith(quarantinePrefix(table)) ? key.slice(quarantinePrefix(table).length) : key.slice(key.lastIndexOf('/') + 1);
  return base.replace(/\.ndjson$/, '');
}

/** An ETag without quotes, safe in a key. */
export const etagId = (etag: string) => etag.replace(/[^a-zA-Z0-9]/g, '').toLowerCase() || 'none';

export function replayManifestKey(table: string, qName: string, etag: string): string {
  return `${replaysPrefix(table)}${qName}/${etagId(etag)}.json`;
}

export function replayDataKey(table: string, hivePath: string, qName: string, etag: string): string {
  return `${dataPrefix(table)}${hivePath ? `${hivePath}/` : ''}replay-${qName}-e${etagId(etag).slice(0, 12)}.parquet`;
}

/** What one replay of one quarantine object did; the audit counts its rows and removed lines. */
export interface ReplayManifest {
  kind: 'replay';
  formatVersion: 1;
  table: string;
  topic: string;
  partition: number;
  quarantineKey: string;
  /** ETag of the quarantine object the replay read. */
  sourceEtag: string;
  /** `pending` while files are being written; `committed` once all are written and registered. */
  status: 'pending' | 'committed';
  files: ManifestFile[];
  /** Offsets whose records left the quarantine (became rows, or were filtered out by the transform). */
  removedOffsets: number[];
  /** A re-drive of an ESM on-failure record writes the records that still fail to a new quarantine object. */
  quarantineWritten?: { key: string; records: number };
  counts: { selected: number; replayed: number; rows: number; filtered: number; stillFailing: number; skipped: number };
  /** The quarantine object's new body (NDJSON), applied with If-Match after the commit. */
  nextQuarantine: string;
  loaderVersion: string;
  committedAt: string;
}

const decoder = new TextDecoder();

/** Reads and parses a JSON object; null when missing. */
export async function readJson<T>(store: ObjectStore, key: string): Promise<{ value: T; etag: string } | null> {
  const got = await store.get(key);
  if (!got) return null;
  return { value: JSON.parse(decoder.decode(got.body)) as T, etag: got.etag };
}

/** Lists every key (with size) under a prefix. */
export async function listAll(store: ObjectStore, prefix: string): Promise<{ key: string; size: number }[]> {
  const out: { key: string; size: number }[] = [];
  for await (const o of store.list(prefix)) out.push({ key: o.key, size: o.size });
  return out;
}

/** Every commit manifest of a table (aborted tombstones excluded), sorted by topic, partition and offset. */
export async function readCommitManifests(store: ObjectStore, table: string, concurrency = 16): Promise<{ key: string; manifest: Manifest }[]> {
  const keys = (await listAll(store, manifestsPrefix(table))).filter((o) => o.key.endsWith('.json')).map((o) => o.key);
  const read = await mapLimited(keys, concurrency, async (key) => ({ key, got: await readJson<Manifest & { aborted?: boolean }>(store, key) }));
  const out: { key: string; manifest: Manifest }[] = [];
  for (const { key, got } of read) if (got && !got.value.aborted && Array.isArray(got.value.files)) out.push({ key, manifest: got.value });
  out.sort((a, b) =>
    a.manifest.topic !== b.manifest.topic ? (a.manifest.topic < b.manifest.topic ? -1 : 1) : a.manifest.partition - b.manifest.partition || a.manifest.fromOffset - b.manifest.fromOffset,
  );
  return out;
}

/** Every replay manifest of a table. */
export async function readReplayManifests(store: ObjectStore, table: string, concurrency = 16): Promise<{ key: string; manifest: ReplayManifest }[]> {
  const keys = (await listAll(store, replaysPrefix(table))).filter((o) => o.key.endsWith('.json') && !o.key.endsWith('.done.json') && !o.key.endsWith('_lock.json')).map((o) => o.key);
  const read = await mapLimited(keys, concurrency, async (key) => ({ key, got: await readJson<ReplayManifest>(store, key) }));
  return read.filter((r) => r.got?.value.kind === 'replay').map((r) => ({ key: r.key, manifest: r.got!.value }));
}

/** Every commit state of a table (one per topic and Kafka partition). */
export async function readCommitStates(store: ObjectStore, table: string): Promise<{ key: string; state: CommitState }[]> {
  const keys = (await listAll(store, statePrefix(table))).filter((o) => o.key.endsWith('.json')).map((o) => o.key);
  const read = await mapLimited(keys, 16, async (key) => ({ key, got: await readJson<CommitState>(store, key) }));
  return read.filter((r) => r.got).map((r) => ({ key: r.key, state: r.got!.value }));
}
