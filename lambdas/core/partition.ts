/**
 * Partition stage: the Hive partition (`dt=2026-11-21/hour=07`, `country=DE`) a conformed row
 * belongs to.
 *
 * Event-time partitions come from a timestamp/date column or the Kafka timestamp, in UTC. Column
 * partition values are escaped exactly as Hive's `FileUtils.escapePathName` does (`%XX`, upper
 * case), so no value can add a path segment or climb out of the table's prefix; null and empty
 * values become `__HIVE_DEFAULT_PARTITION__`.
 */
import type { Conformed } from './conform';
import type { Pipeline } from './pipeline';
import { LakeloaderError } from './errors';
import { projectionParameters } from './glue-table';
import { outOfRange, parseProjection, type Projection } from './projection';

/** Hive's name for the partition of null and empty values. */
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Longest escaped partition path accepted (S3 keys are at most 1,024 bytes). */
export const MAX_HIVE_PATH_LENGTH = 512;

/** A row whose partition cannot be computed; the message is the quarantine reason. */
export class PartitionError extends LakeloaderError {
  readonly code = 'PARTITION';
  readonly stage = 'partition' as const;
  constructor(message: string) {
    super(message);
  }
}

const ESCAPED = new Uint8Array(128);
for (let c = 0; c < 0x20; c++) ESCAPED[c] = 1;
for (const ch of '"#%\'*/:=?\\{}[]^') ESCAPED[ch.charCodeAt(0)] = 1;
ESCAPED[0x7f] = 1;

/**
 * Escapes one partition value the way Hive escapes path names: control characters, DEL and
 * `" # % ' * / : = ? \ { } [ ] ^` become `%XX` (upper-case hex); other characters are kept.
 */
export function escapePathName(value: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 128 && ESCAPED[c] === 1) {
      out += value.slice(from, i) + '%' + (c < 16 ? '0' : '') + c.toString(16).toUpperCase();
      from = i + 1;
    }
  }
  return from === 0 ? value : out + value.slice(from);
}

/** Reverses {@link escapePathName}. */
export function unescapePathName(path: string): string {
  return path.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** A partition value as a string (unescaped), or the Hive default partition for null / ''. */
export function partitionValueText(v: Conformed, kind: string): string {
  if (v === null || v === '') return HIVE_DEFAULT_PARTITION;
  if (kind === 'date' && typeof v === 'number') return formatDay(v);
  return String(v);
}

/** `YYYY-MM-DD` of a day number (days since 1970-01-01; proleptic Gregorian, `-YYYY` before year 0). */
export function formatDay(days: number): string {
  // civil_from_days (H. Hinnant)
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const yy = y < 0 ? `-${String(-y).padStart(4, '0')}` : String(y).padStart(4, '0');
  return `${yy}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
}

/** Where a row goes. */
export interface PartitionTarget {
  /** Unescaped values in partition-key order (as registered in Glue). */
  values: string[];
  /** Escaped `k=v/k=v` ('' when unpartitioned). */
  hivePath: string;
  /** Event time of the row, epoch ms, or null when not event-time partitioned. */
  eventTime: number | null;
}

/** Computes a row's partition from its conformed values (see conform.ts for the value order). */
export type Partitioner = (values: Conformed[], kafkaTimestamp: number) => PartitionTarget;

/**
 * Builds the partitioner of a pipeline. Rows of the same hour (or day) share the partition values
 * and path of the last row, so a batch formats them once per hour or day, not once per row (each
 * row still gets its own target, with its own event time).
 * @returns a function that throws {@link PartitionError} when a row has no valid partition.
 */
export function createPartitioner(pipeline: Pipeline, options: PartitionerOptions = {}): Partitioner {
  const p = pipeline.partitioning;
  const range = projectionRangeCheck(pipeline, options.now ?? Date.now);
  if (p.by === 'none') {
    const target: PartitionTarget = { values: [], hivePath: '', eventTime: null };
    return () => target;
  }
  if (p.by === 'eventTime') {
    const hourly = p.granularity === 'hour';
    const unit = hourly ? 3_600_000 : 86_400_000;
    let index = -1;
    let isDate = false;
    if ('column' in p.source) {
      const name = p.source.column;
      index = pipeline.columns.findIndex((c) => c.name === name);
      isDate = pipeline.columns[index].type.kind === 'date';
    }
    let lastBucket = NaN;
    let last: PartitionTarget | null = null;
    return (values, kafkaTimestamp) => {
      let t: number;
      if (index < 0) t = kafkaTimestamp;
      else {
        const v = values[index];
        if (typeof v !== 'number') throw new PartitionError(`event time column "${pipeline.columns[index].name}" has no value`);
        t = isDate ? v * 86_400_000 : v;
      }
      if (!Number.isFinite(t)) throw new PartitionError(`event time ${String(t)} is not a valid timestamp`);
      const bucket = Math.floor(t / unit);
      if (bucket !== lastBucket || last === null) {
        const dayNum = Math.floor(t / 86_400_000);
        const dt = formatDay(dayNum);
        let next: PartitionTarget;
        if (hourly) {
          const h = Math.floor((t - dayNum * 86_400_000) / 3_600_000);
          const hh = `${h < 10 ? '0' : ''}${h}`;
          next = { values: [dt, hh], hivePath: `dt=${dt}/hour=${hh}`, eventTime: t };
        } else {
          next = { values: [dt], hivePath: `dt=${dt}`, eventTime: t };
        }
        // Once per partition change, not per row: the rows of the cached partition passed it.
        range?.(next.values);
        last = next;
        lastBucket = bucket;
        return last;
      }
      return { values: last.values, hivePath: last.hivePath, eventTime: t };
    };
  }
  const cols = p.columns;
  // Where each partition column's value is in the conformed row (conform.ts conformedColumns):
  // after the file columns for Hive, among them for Iceberg.
  const at = cols.map((c, i) => (pipeline.format === 'hive' ? pipeline.columns.length + i : pipeline.columns.indexOf(c)));
  return (values) => {
    const out: string[] = new Array(cols.length);
    let path = '';
    for (let i = 0; i < cols.length; i++) {
      const text = partitionValueText(values[at[i]!], cols[i].type.kind);
      if (LONE_SURROGATE.test(text)) throw new PartitionError(`partition column "${cols[i].name}" holds a string that is not valid Unicode (a lone surrogate), which cannot be an S3 key`);
      out[i] = text;
      path += `${i ? '/' : ''}${cols[i].name}=${text === HIVE_DEFAULT_PARTITION ? text : escapePathName(text)}`;
    }
    if (path.length > MAX_HIVE_PATH_LENGTH) {
      throw new PartitionError(`partition path is ${path.length} characters after escaping, longer than ${MAX_HIVE_PATH_LENGTH}: shorten the partition column values`);
    }
    range?.(out);
    return { values: out, hivePath: path, eventTime: null };
  };
}

/** Options of {@link createPartitioner}. */
export interface PartitionerOptions {
  /** The clock a projection range's NOW is read from (epoch ms). @default Date.now */
  now?: () => number;
}

/**
 * For a pipeline registered by partition projection: a check that throws {@link PartitionError}
 * for partition values Athena will never read (before the range start, or more than one interval
 * past a NOW end: see projection.ts `outOfRange`), so the record is quarantined instead of being
 * reported loaded and never seen. Null when the pipeline registers partitions in Glue.
 */
function projectionRangeCheck(pipeline: Pipeline, now: () => number): ((values: string[]) => void) | null {
  if (pipeline.partitionRegistration !== 'projection' || pipeline.partitionKeys.length === 0) return null;
  const projection: Projection | null = parseProjection(projectionParameters(pipeline, ''), pipeline.partitionKeys.map((k) => k.name));
  if (!projection || projection.columns.every((c) => c.type === 'injected')) return null;
  // Partitions already found in range, with when they were checked: a late event switching back to
  // a recent partition costs a map lookup, not a date parse (a minute later it is checked again,
  // for ranges whose start moves with NOW).
  const checked = new Map<string, number>();
  return (values) => {
    const key = values.length === 1 ? values[0]! : values.join('\u0000');
    const t = checked.get(key);
    const at = now();
    if (t !== undefined && at - t < 60_000) return;
    const bad = outOfRange(projection, values, at);
    if (bad) throw new PartitionError(bad.reason);
    if (checked.size >= 4096) checked.clear();
    checked.set(key, at);
  };
}
