/**
 * Re-drives the event source mapping's on-failure records (the S3 destination, `aws/lambda/`):
 * batches the ESM gave up on after its retries. Each names topic-partition offset ranges
 * (`KafkaBatchInfo.recordsInfo`) and, from an S3 destination, carries the whole invocation
 * `payload`; without a payload the records are fetched from Kafka (`--brokers`).
 *
 * The ESM moves on after discarding a batch, so later batches usually commit offsets above it and
 * the loader's commit path would skip the failed records as duplicates. A re-drive therefore
 * decides per offset: offsets above the committed one go through the loader's own commit
 * protocol; offsets at or below it are loaded only if the lake does not hold them yet (their
 * `_offset` is in no committed file and no quarantine object), with the replay's own commit:
 *
 * ```
 * PUT replay manifest {pending} ─ PUT Parquet at keys derived from (F, ETag) ─ register partitions
 *   ─ PUT quarantine of what still fails ─ PUT manifest {committed} ─ PUT done marker of F
 * ```
 * A rerun skips F once its marker names F's ETag; a crash before the manifest committed is redone
 * from the start (the stale files are deleted), and afterwards only the marker is written.
 */
import { createHash } from 'node:crypto';
import type { PartitionInput } from '@aws-sdk/client-glue';
import { commitPartition, readState, type ManifestFile } from '../../lambdas/core/commit';
import { partitionInput } from '../../lambdas/core/glue-table';
import { CONTENT_TYPE, ESM_FAILURES_PREFIX, quarantinePrefix, safeTopic } from '../../lambdas/core/layout';
import type { MskEvent, MskRecord } from '../../lambdas/core/model';
import type { Pipeline } from '../../lambdas/core/pipeline';
import type { ObjectStore } from '../../lambdas/core/store';
import { LOADER_VERSION } from '../../lambdas/core/version';
import { etagId, listAll, readCommitManifests, readJson, readReplayManifests, replaysPrefix, type ReplayManifest } from './lake';
import { publishStaged } from '../../lambdas/core/iceberg/commit';
import { publishReplayed, type ReplayDeps } from './replay';

/** The parts of an on-failure record the re-drive reads. */
export interface EsmFailureRecord {
  timestamp?: string;
  KafkaBatchInfo?: {
    recordsInfo?: Record<string, { firstRecordOffset: string | number; lastRecordOffset: string | number }>;
  };
  payload?: MskEvent;
}

/** Fetches records of one topic-partition, offsets first..last inclusive (e.g. from Kafka with kafkajs). */
export type RecordFetcher = (topic: string, partition: number, first: number, last: number) => Promise<MskRecord[]>;

export interface RedriveOptions {
  /** Used when a failure record has no payload. Without it such records are reported as needing Kafka access. */
  fetch?: RecordFetcher;
  dryRun?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface RedriveSummary {
  /** On-failure records found under aws/lambda/ that name this table's topics. */
  failureRecords: number;
  /** Already re-driven earlier (marker present). */
  alreadyDone: number;
  /** Records considered. */
  records: number;
  /** Already in the lake (table or quarantine): skipped. */
  present: number;
  /** Loaded now through the loader's commit path (offsets above the committed one). */
  committed: number;
  /** Loaded now with the replay commit (offsets at or below the committed one, missing from the lake). */
  recovered: number;
  rows: number;
  quarantined: number;
  /** Failure records without a payload and no fetcher: need `--brokers`. */
  needKafka: string[];
  dryRun: boolean;
}

const encoder = new TextEncoder();

/** Marker that an on-failure record has been re-driven for a table. */
export const redriveMarkerKey = (table: string, failureKey: string) => `${replaysPrefix(table)}_esm/${createHash('sha256').update(failureKey).digest('hex').slice(0, 32)}.done.json`;
const redriveName = (failureKey: string, etag: string) => `esm-${failureKey.slice(failureKey.lastIndexOf('/') + 1).replace(/[^a-zA-Z0-9._-]/g, '_')}-${etagId(etag).slice(0, 12)}`;

/** The `_offset` values of a Parquet data file (the Parquet libraries load on first use, so `audit` and `status` never pay for them). */
async function fileOffsets(body: Uint8Array): Promise<number[]> {
  const [{ readParquet }, { tableFromIPC }] = await Promise.all([import('parquet-wasm'), import('apache-arrow')]);
  const t = readParquet(body, { columns: ['_offset'] });
  const table = tableFromIPC(t.intoIPCStream());
  const col = table.getChild('_offset');
  const out: number[] = [];
  if (col) {
    const values = col.toArray() as ArrayLike<bigint | number>;
    for (let i = 0; i < values.length; i++) out.push(Number(values[i]));
  }
  return out;
}

/** Offsets of one topic-partition that the lake already holds (in committed files or quarantine objects), within [first, last]. */
async function presentOffsets(store: ObjectStore, pipeline: Pipeline, topic: string, partition: number, first: number, last: number): Promise<Set<number>> {
  const present = new Set<number>();
  const manifests = (await readCommitManifests(store, pipeline.name)).filter((m) => m.manifest.topic === topic && m.manifest.partition === partition);
  const replays = (await readReplayManifests(store, pipeline.name)).filter((r) => r.manifest.status === 'committed' && r.manifest.topic === topic && r.manifest.partition === partition);
  const files: ManifestFile[] = [...manifests.flatMap((m) => m.manifest.files), ...replays.flatMap((r) => r.manifest.files)].filter((f) => f.lastOffset >= first && f.firstOffset <= last);
  for (const f of files) {
    const got = await store.get(f.key);
    if (!got) continue;
    if (pipeline.keepKafkaCoordinates) for (const o of await fileOffsets(got.body)) present.add(o);
    else for (let o = Math.max(first, f.firstOffset); o <= Math.min(last, f.lastOffset); o++) present.add(o); // no _offset column: trust the range
  }
  const qKeys = new Set<string>();
  for (const m of manifests) if (m.manifest.quarantine && m.manifest.toOffset >= first && m.manifest.fromOffset <= last) qKeys.add(m.manifest.quarantine.key);
  for (const r of replays) if (r.manifest.quarantineWritten) qKeys.add(r.manifest.quarantineWritten.key);
  for (const key of qKeys) {
    const got = await store.get(key);
    if (!got) continue;
    for (const line of Buffer.from(got.body).toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as { topic: string; kafka_partition: number; kafka_offset: number };
      if (e.topic === topic && e.kafka_partition === partition) present.add(e.kafka_offset);
    }
  }
  return present;
}

/** Lists on-failure record objects under `aws/lambda/` (ESM_FAILURES_PREFIX). */
export async function listFailureRecords(store: ObjectStore): Promise<string[]> {
  return (await listAll(store, ESM_FAILURES_PREFIX)).filter((o) => o.size > 0).map((o) => o.key);
}

/**
 * Re-drives every on-failure record that names one of the pipeline's topics.
 */
export async function redriveEsmFailures(deps: ReplayDeps, pipeline: Pipeline, opts: RedriveOptions = {}): Promise<RedriveSummary> {
  const { store } = deps;
  const summary: RedriveSummary = { failureRecords: 0, alreadyDone: 0, records: 0, present: 0, committed: 0, recovered: 0, rows: 0, quarantined: 0, needKafka: [], dryRun: !!opts.dryRun };
  const keys = await listFailureRecords(store);
  let done = 0;
  for (const key of keys) {
    opts.onProgress?.(done++, keys.length);
    const got = await readJson<EsmFailureRecord>(store, key).catch(() => null);
    if (!got) continue;
    const f = got.value;
    // The records of this table's topics, by topic-partition.
    const groups = new Map<string, { topic: string; partition: number; records: MskRecord[]; first: number; last: number }>();
    const info = f.KafkaBatchInfo?.recordsInfo ?? {};
    if (f.payload?.records) {
      for (const list of Object.values(f.payload.records))
        for (const r of list) {
          if (!pipeline.topics.includes(r.topic)) continue;
          const k = `${r.topic}\u0000${r.partition}`;
          let g = groups.get(k);
          if (!g) groups.set(k, (g = { topic: r.topic, partition: r.partition, records: [], first: r.offset, last: r.offset }));
          g.records.push(r);
          g.first = Math.min(g.first, r.offset);
          g.last = Math.max(g.last, r.offset);
        }
    } else {
      const wanted = Object.entries(info)
        .map(([tp, i]) => {
          const cut = tp.lastIndexOf('-');
          return { topic: tp.slice(0, cut), partition: Number(tp.slice(cut + 1)), first: Number(i.firstRecordOffset), last: Number(i.lastRecordOffset) };
        })
        .filter((w) => pipeline.topics.includes(w.topic));
      if (wanted.length === 0) continue;
      if (!opts.fetch) {
        summary.failureRecords++;
        summary.needKafka.push(key);
        continue;
      }
      for (const w of wanted) groups.set(`${w.topic}\u0000${w.partition}`, { ...w, records: await opts.fetch(w.topic, w.partition, w.first, w.last) });
    }
    if (groups.size === 0) continue;
    summary.failureRecords++;
    const marker = redriveMarkerKey(pipeline.name, key);
    const prior = await readJson<{ etag: string }>(store, marker);
    if (prior?.value.etag === got.etag) {
      summary.alreadyDone++;
      continue;
    }

    for (const g of groups.values()) {
      const records = [...new Map(g.records.map((r) => [r.offset, r])).values()].sort((a, b) => a.offset - b.offset);
      summary.records += records.length;
      const { state } = await readState(store, pipeline.name, g.topic, g.partition);
      const committed = state.committedOffset ?? -1;
      const above = records.filter((r) => r.offset > committed);
      const below = records.filter((r) => r.offset <= committed);
      const present = below.length ? await presentOffsets(store, pipeline, g.topic, g.partition, below[0]!.offset, below[below.length - 1]!.offset) : new Set<number>();
      const missing = below.filter((r) => !present.has(r.offset));
      summary.present += below.length - missing.length;
      if (opts.dryRun) {
        summary.committed += above.length;
        summary.recovered += missing.length;
        continue;
      }
      if (above.length) {
        const r = await commitPartition(deps, pipeline, g.topic, g.partition, above);
        summary.committed += above.length - r.counts.duplicates;
        summary.rows += r.counts.rows;
        summary.quarantined += r.counts.quarantined;
      }
      if (missing.length) {
        const r = await recoverRecords(deps, pipeline, key, got.etag, g.topic, g.partition, missing);
        summary.recovered += missing.length;
        summary.rows += r.rows;
        summary.quarantined += r.quarantined;
      }
    }
    if (!opts.dryRun) await store.put(marker, encoder.encode(JSON.stringify({ failureRecord: key, etag: got.etag, redrivenAt: new Date((deps.now ?? Date.now)()).toISOString() })), { contentType: CONTENT_TYPE.json });
  }
  opts.onProgress?.(keys.length, keys.length);
  // Iceberg: what went through the loader's commit path is staged; publish it now rather than at the next scheduled commit.
  if (pipeline.format === 'iceberg' && summary.committed > 0 && deps.catalog && !opts.dryRun) {
    await publishStaged({ store, catalog: deps.catalog, bucket: deps.bucket, database: deps.database, pipeline, ...(deps.now ? { now: deps.now } : {}) });
  }
  return summary;
}

/** Loads records that are below the committed offset and missing from the lake, with the replay commit. */
async function recoverRecords(
  deps: ReplayDeps,
  pipeline: Pipeline,
  failureKey: string,
  etag: string,
  topic: string,
  partition: number,
  records: MskRecord[],
): Promise<{ rows: number; quarantined: number }> {
  const { store, codec } = deps;
  const table = pipeline.name;
  const name = `${redriveName(failureKey, etag)}-${safeTopic(topic)}-${partition}`;
  const mKey = `${replaysPrefix(table)}${name}/${etagId(etag)}.json`;
  const earlier = await readJson<ReplayManifest>(store, mKey);
  if (earlier?.value.status === 'committed') {
    await publishReplayed(deps, pipeline, mKey, earlier.value.files);
    return { rows: earlier.value.counts.rows, quarantined: earlier.value.counts.stillFailing };
  }

  const prepared = await codec.prepareBatch(pipeline, records);
  const files = prepared.files.map((f) => ({ f, key: `tables/${table}/${f.hivePath ? `${f.hivePath}/` : ''}replay-${name}.parquet` }));
  const qKey = prepared.quarantine.length ? `${quarantinePrefix(table)}${name}.ndjson` : null;
  const manifest: ReplayManifest = {
    kind: 'replay',
    formatVersion: 1,
    table,
    topic,
    partition,
    quarantineKey: failureKey,
    sourceEtag: etag,
    status: 'pending',
    files: files.map(({ f, key }) => ({ key, partitionValues: f.partitionValues, rows: f.rows, bytes: f.body.byteLength, firstOffset: f.firstOffset, lastOffset: f.lastOffset, ...(f.iceberg ? { iceberg: f.iceberg } : {}) })),
    removedOffsets: [],
    quarantineWritten: qKey ? { key: qKey, records: prepared.quarantine.length } : undefined,
    counts: { selected: records.length, replayed: prepared.counts.written, rows: prepared.counts.rows, filtered: prepared.counts.filtered, stillFailing: prepared.quarantine.length, skipped: 0 },
    nextQuarantine: '',
    loaderVersion: LOADER_VERSION,
    committedAt: new Date((deps.now ?? Date.now)()).toISOString(),
  };
  if (earlier?.value.status === 'pending') {
    const planned = new Set([...files.map((f) => f.key), ...(qKey ? [qKey] : [])]);
    const stale = [...earlier.value.files.map((f) => f.key), ...(earlier.value.quarantineWritten ? [earlier.value.quarantineWritten.key] : [])].filter((k) => !planned.has(k));
    if (stale.length) await store.deleteMany(stale);
  }
  await store.put(mKey, encoder.encode(JSON.stringify(manifest, null, 1)), { contentType: CONTENT_TYPE.json });
  for (const { f, key } of files) await store.put(key, f.body, { contentType: CONTENT_TYPE.parquet });
  if (pipeline.partitionRegistration !== 'projection' && pipeline.partitionKeys.length > 0 && files.length > 0) {
    const inputs: PartitionInput[] = files.map(({ f }) => partitionInput(pipeline, deps.bucket, f.partitionValues, f.hivePath));
    await deps.registrar.register(deps.database, table, inputs);
  }
  if (qKey) await store.put(qKey, codec.serializeQuarantine(prepared.quarantine), { contentType: CONTENT_TYPE.ndjson });
  manifest.status = 'committed';
  await store.put(mKey, encoder.encode(JSON.stringify(manifest, null, 1)), { contentType: CONTENT_TYPE.json });
  await publishReplayed(deps, pipeline, mKey, manifest.files);
  return { rows: prepared.counts.rows, quarantined: prepared.quarantine.length };
}

/**
 * The on-failure records that name one of the pipeline's topics and have not been re-driven yet
 * (no marker with their current ETag): batches the ESM discarded whose records may be missing.
 */
export async function unresolvedFailureRecords(store: ObjectStore, pipeline: Pipeline): Promise<{ key: string; ranges: string[] }[]> {
  const out: { key: string; ranges: string[] }[] = [];
  for (const key of await listFailureRecords(store)) {
    const got = await readJson<EsmFailureRecord>(store, key).catch(() => null);
    if (!got) continue;
    const ranges = Object.entries(got.value.KafkaBatchInfo?.recordsInfo ?? {})
      .filter(([tp]) => pipeline.topics.includes(tp.slice(0, tp.lastIndexOf('-'))))
      .map(([tp, i]) => `${tp}@${i.firstRecordOffset}..${i.lastRecordOffset}`);
    if (ranges.length === 0) continue;
    const marker = await readJson<{ etag: string }>(store, redriveMarkerKey(pipeline.name, key));
    if (marker?.value.etag !== got.etag) out.push({ key, ranges });
  }
  return out;
}
