/**
 * A discrete-event simulation of one Kafka event source mapping feeding the loader: records
 * arrive, the ESM's pollers batch them by its rules, the function runs, and each record becomes
 * queryable. It yields both what the cost model counts (invocations, Kafka-partition batches,
 * Parquet files, Glue calls, cold starts, billed milliseconds, table commits) and the
 * produce-to-queryable latency of every record (freshness p50/p99).
 *
 * Assumptions (docs/bench.md, "Freshness", repeats them):
 * - Records arrive as a Poisson process at the level's rate, spread evenly over the topic's
 *   partitions; producer-to-broker time is not counted.
 * - The ESM's pollers split the partitions between them (partition i to poller i mod k). A poller
 *   gathers records from its partitions into one batch and invokes the function when the batch
 *   reaches BatchSize records, when one more record would take the invoke payload past 6 MB, or
 *   when MaximumBatchingWindowInSeconds have passed since the batch's first record — whichever
 *   comes first — and never while its previous invocation is still running (a batch that closes
 *   then is invoked when that invocation returns, with the records that came meanwhile, up to
 *   the limits).
 * - An invocation takes `esmOverheadMs` (poll, dispatch) + `ioMsPerInvocation` (the S3/Glue round
 *   trips of the commit protocol) + records ÷ the measured records/s, plus `initMs` on a cold start
 *   (a container idle for longer than `keepWarmSeconds`). The simulation starts in steady state:
 *   containers warm, the current and recent table partitions already registered.
 * - Hive tables: a record is queryable when its invocation returns (data, Glue partition and
 *   commit state are written before). Iceberg tables (lambdas/loader/handler.ts): an invocation
 *   that staged files publishes every staged batch as one snapshot when the table's last snapshot
 *   is at least `commitIntervalSeconds` old (taking `commitMs` more); otherwise its rows wait for
 *   the next invocation that does, or for a scheduled committer when there is one.
 * - Event time lags arrival for `lateShare` of the records, by a uniform 0..`lateMaxSeconds`; the
 *   table partition of a row is its event time's hour or day: that is what decides how many
 *   Parquet files one Kafka partition's batch writes.
 */

/** The traffic on one topic. */
export interface Traffic {
  /** Decoded record values per second, MB (10^6 bytes). */
  mbPerSecond: number;
  /** Bytes of one record's value (JSON). */
  recordBytes: number;
  /** Bytes one record takes in the invoke payload (base64 value, key, headers and coordinates). */
  eventBytesPerRecord: number;
  /** Kafka partitions of the topic. */
  partitions: number;
  /** Share of records whose event time lags their arrival. */
  lateShare: number;
  /** Their lag is uniform in 0..lateMaxSeconds. */
  lateMaxSeconds: number;
  /** Seconds one table partition spans (3600 for dt/hour); null for an unpartitioned table. */
  partitionSeconds: number | null;
  /** Share of records the loader quarantines (a Kafka partition's batch with one writes a quarantine object). @default 0 */
  quarantineRate?: number;
}

/** The event source mapping's batching rules (from the template). */
export interface Batching {
  batchSize: number;
  windowSeconds: number;
  /** @default 6,000,000 */
  payloadLimitBytes?: number;
  /** Event pollers working the mapping's partitions. */
  pollers: number;
}

/** How long the function takes and how records become visible. */
export interface Processing {
  /** Loader-core speed (the bench's measured records/s). */
  recordsPerSecond: number;
  /** S3/Glue round trips of one invocation, ms. */
  ioMsPerInvocation: number;
  /** ESM poll-to-invoke overhead, ms. */
  esmOverheadMs: number;
  /** Extra billed time of a cold start, ms. */
  initMs: number;
  /** A container idle longer than this is cold. */
  keepWarmSeconds: number;
  /** 'hive': queryable when the invocation returns; 'iceberg': at the next table commit. */
  format: 'hive' | 'iceberg';
  /** Iceberg: seconds between table commits (0: every invocation commits). */
  commitIntervalSeconds: number;
  /** Iceberg: duration of one table commit, ms (billed to the invocation that commits). */
  commitMs: number;
  /** Iceberg: seconds between runs of a scheduled committer, if the stack has one. @default none */
  scheduledCommitSeconds?: number;
  /** Glue partitions are registered (Hive, not projected). */
  registersPartitions: boolean;
}

export interface SimOptions {
  /** @default 1 */
  seed?: number;
  /** Records to simulate over all pollers. @default 300,000 */
  maxRecords?: number;
  /** Simulated time limit. @default 72 hours */
  maxSeconds?: number;
}

/** What the simulated stretch of time did. */
export interface SimResult {
  /** Length of the simulated stretch (first arrival to last counted invocation). */
  seconds: number;
  records: number;
  bytes: number;
  invocations: number;
  /** (invocation, Kafka partition) pairs: each is one commit-protocol run. */
  partitionBatches: number;
  /** Parquet files written: one per table partition per Kafka partition per invocation. */
  files: number;
  /** Kafka-partition batches with at least one quarantined record (each writes one quarantine object). */
  quarantineObjects: number;
  /** Glue BatchCreatePartition calls (a Kafka partition's batch that brings a partition its container has not registered). */
  glueCalls: number;
  coldStarts: number;
  /** Billed function time, ms (durations plus cold-start init). */
  billedMs: number;
  /** Iceberg table commits (each publishes what was staged since the last one). Every invocation with files also reads the table (GetTable + metadata) to decide. */
  commits: number;
  pollers: number;
  /** Produce-to-queryable latency of the records, seconds. */
  latency: { p50: number; p99: number; max: number; mean: number };
}

/** mulberry32: a small seeded PRNG, so every run of the bench gives the same table. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The q-quantile (0..1) of the first n values (sorts them). */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * The records one batch can hold under the ESM's limits.
 * @returns min(BatchSize, floor(payload limit ÷ bytes per record in the payload))
 */
export function batchCap(batching: Pick<Batching, 'batchSize' | 'payloadLimitBytes'>, eventBytesPerRecord: number): number {
  return Math.max(1, Math.min(batching.batchSize, Math.floor((batching.payloadLimitBytes ?? 6_000_000) / eventBytesPerRecord)));
}

/** Runs the simulation for one mapping. */
export function simulateMapping(traffic: Traffic, batching: Batching, processing: Processing, options: SimOptions = {}): SimResult {
  if (!(traffic.mbPerSecond > 0)) throw new RangeError(`mbPerSecond must be > 0, got ${traffic.mbPerSecond}`);
  if (!(traffic.recordBytes > 0) || !(traffic.eventBytesPerRecord > 0)) throw new RangeError('recordBytes and eventBytesPerRecord must be > 0');
  if (!Number.isInteger(traffic.partitions) || traffic.partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${traffic.partitions}`);
  if (!(processing.recordsPerSecond > 0)) throw new RangeError(`recordsPerSecond must be > 0, got ${processing.recordsPerSecond}`);
  const random = rng(options.seed ?? 1);
  const maxRecords = options.maxRecords ?? 300_000;
  const maxSeconds = options.maxSeconds ?? 72 * 3600;
  const P = traffic.partitions;
  const k = Math.max(1, Math.min(P, Math.floor(batching.pollers)));
  const lambda = (traffic.mbPerSecond * 1e6) / traffic.recordBytes; // records/s on the topic
  const cap = batchCap(batching, traffic.eventBytesPerRecord);
  const payloadLimit = batching.payloadLimitBytes ?? 6_000_000;
  const W = batching.windowSeconds;
  const span = traffic.partitionSeconds;
  const epoch = random() * (span ?? 3600); // where in its hour/day the simulation starts
  // Invocations in the order they end, with their records' arrival times: visibility is decided after (Iceberg commits interleave the pollers).
  const ended: Array<{ end: number; arrivals: number[] }> = [];
  const totals = { records: 0, bytes: 0, invocations: 0, partitionBatches: 0, files: 0, quarantineObjects: 0, glueCalls: 0, coldStarts: 0, billedMs: 0, commits: 0 };
  const qRate = traffic.quarantineRate ?? 0;
  let simEnd = 0;

  for (let j = 0; j < k; j++) {
    const parts: number[] = [];
    for (let p = j; p < P; p += k) parts.push(p);
    const rate = (lambda * parts.length) / P;
    const quota = Math.max(1, Math.round((maxRecords * parts.length) / P));
    // Batch state.
    let arrivals: number[] = [];
    let batchParts = new Map<number, Set<number>>();
    let quarantined = new Set<number>();
    let count = 0;
    let bytes = 0;
    let first = 0;
    let busyUntil = 0;
    // Steady state: the container is warm at the start and knows the partitions the recent hours filled.
    let lastEnd = 0;
    let known = new Set<number>();
    if (span) for (let x = epoch - traffic.lateMaxSeconds - span; x <= epoch + span; x += span) known.add(Math.floor(x / span));
    let t = 0;
    let seen = 0;

    const dispatch = (at: number) => {
      const start = Math.max(at, busyUntil);
      const cold = start - lastEnd > processing.keepWarmSeconds;
      const ms = processing.esmOverheadMs + processing.ioMsPerInvocation + (count / processing.recordsPerSecond) * 1000 + (cold ? processing.initMs : 0);
      const end = start + ms / 1000;
      ended.push({ end, arrivals });
      totals.invocations++;
      totals.records += count;
      totals.bytes += count * traffic.recordBytes;
      totals.billedMs += ms - processing.esmOverheadMs;
      if (cold) {
        totals.coldStarts++;
        known = new Set();
      }
      totals.quarantineObjects += quarantined.size;
      for (const tableParts of batchParts.values()) {
        totals.partitionBatches++;
        totals.files += tableParts.size;
        if (processing.registersPartitions) {
          let fresh = false;
          for (const tp of tableParts) if (!known.has(tp)) fresh = true;
          if (fresh) {
            totals.glueCalls++;
            for (const tp of tableParts) known.add(tp);
          }
        }
      }
      busyUntil = end;
      lastEnd = end;
      simEnd = Math.max(simEnd, end);
      arrivals = [];
      batchParts = new Map();
      quarantined = new Set();
      count = 0;
      bytes = 0;
    };

    while (seen < quota) {
      t += -Math.log(1 - random()) / rate;
      if (t > maxSeconds) break;
      // The open batch closes by its window (or when the poller is free again) before this record.
      if (count > 0) {
        const closeAt = Math.max(first + W, busyUntil);
        if (t >= closeAt) dispatch(closeAt);
      }
      if (count > 0 && (count + 1 > cap || bytes + traffic.eventBytesPerRecord > payloadLimit)) dispatch(t);
      if (count === 0) first = t;
      const partition = parts[Math.floor(random() * parts.length)]!;
      const lag = random() < traffic.lateShare ? random() * traffic.lateMaxSeconds : 0;
      const tablePart = span ? Math.floor((epoch + t - lag) / span) : 0;
      let set = batchParts.get(partition);
      if (!set) batchParts.set(partition, (set = new Set()));
      if (qRate > 0 && random() < qRate) quarantined.add(partition);
      else set.add(tablePart);
      arrivals.push(t);
      count++;
      bytes += traffic.eventBytesPerRecord;
      seen++;
      if (count >= cap) dispatch(t);
    }
    // The batch still open at the end is not counted (its invocation would fall outside the stretch).
  }
  // When rows become queryable. Hive: when their invocation returns. Iceberg (the loader's rule,
  // lambdas/loader/handler.ts): an invocation that staged files publishes everything staged when the
  // table's last snapshot is at least the commit interval old; otherwise its rows wait for the next
  // invocation that does (or the scheduled committer, every `scheduledCommitSeconds` when set).
  ended.sort((x, y) => x.end - y.end);
  const LAT_CAP = 1_000_000;
  let latencies = new Float64Array(Math.min(totals.records, LAT_CAP));
  let nLat = 0;
  let latSum = 0;
  if (processing.format !== 'iceberg') {
    for (const e of ended)
      for (const a of e.arrivals) {
        latencies[nLat++] = e.end - a;
        latSum += e.end - a;
      }
  } else if (ended.length) {
    // The commit rule works on a longer clock than the simulated stretch may cover (a minute's
    // interval against a few seconds of 10 MB/s): the stretch's invocations are repeated back to
    // back until they cover 20 intervals, and every `stride`-th record's latency is kept.
    const C = processing.commitIntervalSeconds;
    const sched = processing.scheduledCommitSeconds ?? 0;
    const commitS = processing.commitMs / 1000;
    const stretch = Math.max(simEnd, ended[ended.length - 1]!.end, 1e-9);
    const tiles = Math.max(1, Math.ceil((20 * Math.max(C, sched, 1)) / stretch));
    const stride = Math.max(1, Math.ceil((totals.records * tiles) / LAT_CAP));
    latencies = new Float64Array(Math.ceil((totals.records * tiles) / stride) + 1);
    let lastCommit = -Infinity;
    let waiting: number[][] = [];
    let waitingShift: number[] = [];
    let counter = 0;
    let commits = 0;
    const publish = (at: number) => {
      for (let w = 0; w < waiting.length; w++) {
        for (const a of waiting[w]!) {
          if (counter++ % stride === 0) {
            const l = at + commitS - (a + waitingShift[w]!);
            latencies[nLat++] = l;
            latSum += l;
          }
        }
      }
      waiting = [];
      waitingShift = [];
      lastCommit = at;
      commits++;
    };
    let nextSched = sched > 0 ? random() * sched : Infinity;
    for (let t = 0; t < tiles; t++) {
      const shift = t * stretch;
      for (const e of ended) {
        const endAt = e.end + shift;
        while (nextSched < endAt) {
          if (waiting.length) publish(nextSched);
          nextSched += sched;
        }
        waiting.push(e.arrivals);
        waitingShift.push(shift);
        if (endAt - lastCommit >= C) publish(endAt);
      }
    }
    // Rows still waiting at the end are published by the next commit (not counted).
    totals.commits = commits / tiles;
    totals.billedMs += (commits / tiles) * processing.commitMs;
  }
  const sorted = latencies.subarray(0, nLat).sort();
  return {
    seconds: simEnd,
    ...totals,
    pollers: k,
    latency: { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: nLat ? sorted[nLat - 1]! : NaN, mean: nLat ? latSum / nLat : NaN },
  };
}
