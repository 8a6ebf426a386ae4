/**
 * Athena partition projection, evaluated the way Athena evaluates it: which partition values a
 * table's `projection.*` properties generate, so that a value it does not generate is known to be
 * invisible. One module for both sides: the local Athena reads only the projected partitions, and
 * the loader refuses (quarantines) a row whose partition Athena would never read.
 *
 * Types (docs: "Supported types for partition projection"):
 * - `integer`: `range` `min,max` (inclusive, may be negative), `interval` (default 1), `digits`
 *   (zero-padded width; without it values have no leading zeros);
 * - `enum`: `values`, a comma-separated list (white space is part of a value);
 * - `date`: `format` (a Java DateTimeFormatter pattern: y/u, M, d, H, m, s, S and literals),
 *   `range` `start,end` in that format or `NOW[±N UNIT(S)]`, `interval` + `interval.unit`
 *   (YEARS … MILLISECONDS; default 1 DAYS or 1 MONTHS when the format has day/month precision).
 *   Values are `format(start + k × interval)` for k = 0, 1, … while ≤ end, in UTC, with NOW taken
 *   when the query runs;
 * - `injected`: any value, but a query must give it (`col = 'v'`).
 */
import { LakeloaderError } from './errors';

/** A table's projection properties are invalid; the message names the property and what to set. */
export class ProjectionConfigError extends LakeloaderError {
  readonly code = 'PROJECTION_CONFIG';
  constructor(message: string) {
    super(message);
  }
}

/** Units of `interval.unit` and of relative `NOW±N UNIT` bounds (ChronoUnit names). */
export type DateUnit = 'YEARS' | 'MONTHS' | 'WEEKS' | 'DAYS' | 'HOURS' | 'MINUTES' | 'SECONDS' | 'MILLISECONDS';
const UNITS: readonly DateUnit[] = ['YEARS', 'MONTHS', 'WEEKS', 'DAYS', 'HOURS', 'MINUTES', 'SECONDS', 'MILLISECONDS'];
const FIXED_MS: Partial<Record<DateUnit, number>> = { WEEKS: 604_800_000, DAYS: 86_400_000, HOURS: 3_600_000, MINUTES: 60_000, SECONDS: 1000, MILLISECONDS: 1 };

/** A bound of a date range: a fixed instant, or NOW shifted by `amount` units when evaluated. */
export type DateBound = { kind: 'fixed'; ms: number; text: string } | { kind: 'now'; amount: number; unit: DateUnit; text: string };

export type ProjectedColumn =
  | { name: string; type: 'integer'; min: bigint; max: bigint; interval: bigint; digits?: number }
  | { name: string; type: 'enum'; values: string[] }
  | { name: string; type: 'date'; format: DateFormat; start: DateBound; end: DateBound; interval: number; unit: DateUnit }
  | { name: string; type: 'injected' };

/** The projection of one table: a column per partition key (in key order) and the location template. */
export interface Projection {
  columns: ProjectedColumn[];
  /** `storage.location.template` (`s3://b/p/${dt}/…`), or undefined for `<location>k=v/…`. */
  template?: string;
}

/** True when the table's parameters turn projection on (`projection.enabled` = true, any case). */
export function projectionEnabled(parameters: Record<string, string> | undefined): boolean {
  return (parameters?.['projection.enabled'] ?? '').trim().toLowerCase() === 'true';
}

/**
 * Reads the projection of a table from its Glue parameters and partition key names.
 * @returns null when projection is not enabled.
 * @throws ProjectionConfigError when a key has no or an invalid `projection.<key>.*` setting.
 */
export function parseProjection(parameters: Record<string, string> | undefined, partitionKeys: string[]): Projection | null {
  if (!projectionEnabled(parameters)) return null;
  const params = parameters!;
  // Property names are matched without regard to case, as Athena does for column names.
  const lower = new Map(Object.entries(params).map(([k, v]) => [k.toLowerCase(), v]));
  const columns = partitionKeys.map((key) => parseColumn(key, (p) => lower.get(`projection.${key.toLowerCase()}.${p}`)));
  const template = params['storage.location.template'];
  return { columns, ...(template !== undefined ? { template } : {}) };
}

function parseColumn(name: string, prop: (p: string) => string | undefined): ProjectedColumn {
  const fail = (msg: string): never => {
    throw new ProjectionConfigError(`partition projection of column "${name}": ${msg}`);
  };
  const type = prop('type')?.trim().toLowerCase();
  if (type === undefined) return fail(`projection.${name}.type is not set; set it to integer, enum, date or injected`);
  switch (type) {
    case 'injected':
      return { name, type };
    case 'enum': {
      const values = prop('values');
      if (values === undefined || values === '') return fail(`projection.${name}.values is required for type enum`);
      return { name, type, values: values.split(',') };
    }
    case 'integer': {
      const range = prop('range');
      const m = range === undefined ? null : /^\s*(-?\d+)\s*,\s*(-?\d+)\s*$/.exec(range);
      if (!m) return fail(`projection.${name}.range must be "min,max" (integers), got ${JSON.stringify(range)}`);
      const interval = BigInt(positiveInt(prop('interval'), 1, () => fail(`projection.${name}.interval must be a positive integer`)));
      const digitsText = prop('digits');
      const digits = digitsText === undefined ? undefined : positiveInt(digitsText, 1, () => fail(`projection.${name}.digits must be a positive integer`));
      return { name, type, min: BigInt(m[1]!), max: BigInt(m[2]!), interval, ...(digits !== undefined ? { digits } : {}) };
    }
    case 'date': {
      const formatText = prop('format');
      if (!formatText) return fail(`projection.${name}.format is required for type date (a Java date pattern such as yyyy-MM-dd)`);
      let format: DateFormat;
      try {
        format = compileDateFormat(formatText);
      } catch (e) {
        return fail((e as Error).message);
      }
      const range = prop('range');
      const parts = range?.split(',');
      if (!parts || parts.length !== 2) return fail(`projection.${name}.range must be "start,end" (dates in the format ${formatText} or NOW±N UNITS), got ${JSON.stringify(range)}`);
      const bound = (text: string): DateBound => {
        const rel = /^\s*NOW\s*(?:([+-])\s*(\d+)\s*(YEARS?|MONTHS?|WEEKS?|DAYS?|HOURS?|MINUTES?|SECONDS?)\s*)?$/i.exec(text);
        if (rel) {
          const unit = (rel[3] ? `${rel[3].toUpperCase().replace(/S$/, '')}S` : 'DAYS') as DateUnit;
          return { kind: 'now', amount: rel[1] ? (rel[1] === '-' ? -1 : 1) * Number(rel[2]) : 0, unit, text };
        }
        const ms = format.parse(text);
        if (ms === null) return fail(`projection.${name}.range value ${JSON.stringify(text)} is neither NOW±N UNITS nor a date in the format ${formatText}`);
        return { kind: 'fixed', ms, text };
      };
      const start = bound(parts[0]!);
      const end = bound(parts[1]!);
      const unitText = prop('interval.unit')?.trim().toUpperCase();
      let unit: DateUnit;
      if (unitText) {
        const u = UNITS.find((x) => x === unitText || x === `${unitText}S`);
        if (!u) return fail(`projection.${name}.interval.unit must be one of ${UNITS.join(', ')}, got ${JSON.stringify(unitText)}`);
        unit = u;
      } else if (format.precision === 'DAYS' || format.precision === 'MONTHS') {
        unit = format.precision;
      } else {
        return fail(`projection.${name}.interval.unit is required: the format ${formatText} is finer than a day`);
      }
      const interval = positiveInt(prop('interval'), 1, () => fail(`projection.${name}.interval must be a positive integer`));
      return { name, type, format, start, end, interval, unit };
    }
    default:
      return fail(`projection.${name}.type must be integer, enum, date or injected, got ${JSON.stringify(type)}`);
  }
}

function positiveInt(text: string | undefined, dflt: number, fail: () => never): number {
  if (text === undefined) return dflt;
  const t = text.trim();
  if (!/^\d+$/.test(t) || Number(t) < 1) fail();
  return Number(t);
}

/** Adds `n` of `unit` to an instant (calendar months and years in UTC, clamped to the month's end like java.time). */
export function addUnits(ms: number, n: number, unit: DateUnit): number {
  const fixed = FIXED_MS[unit];
  if (fixed !== undefined) return ms + n * fixed;
  const d = new Date(ms);
  const months = unit === 'YEARS' ? 12 * n : n;
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() + months;
  const ty = y + Math.floor(m / 12);
  const tm = ((m % 12) + 12) % 12;
  const lastDay = new Date(Date.UTC(ty, tm + 1, 0)).getUTCDate();
  return Date.UTC(ty, tm, Math.min(d.getUTCDate(), lastDay), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

/** The instant of a bound when evaluated at `now` (epoch ms). */
export function boundAt(b: DateBound, now: number): number {
  return b.kind === 'fixed' ? b.ms : addUnits(now, b.amount, b.unit);
}

/**
 * Whether the projection of `col` generates `value` when evaluated at `now`: the value Athena
 * would put into the location template (so it is visible), not merely one that parses.
 */
export function projects(col: ProjectedColumn, value: string, now: number): boolean {
  switch (col.type) {
    case 'injected':
      return true;
    case 'enum':
      return col.values.includes(value);
    case 'integer': {
      if (!/^-?\d+$/.test(value)) return false;
      const v = BigInt(value);
      if (v < col.min || v > col.max || (v - col.min) % col.interval !== 0n) return false;
      return formatInteger(v, col.digits) === value;
    }
    case 'date': {
      const k = dateStep(col, value, now);
      return k !== null;
    }
  }
}

/** The zero-padded text Athena generates for an integer partition value. */
export function formatInteger(v: bigint, digits: number | undefined): string {
  if (digits === undefined) return v.toString();
  const abs = (v < 0n ? -v : v).toString().padStart(digits, '0');
  return v < 0n ? `-${abs}` : abs;
}

/**
 * The step k (value = format(start + k × interval)) that generates `value` at `now`, or null when
 * the value is not generated: unparsable, not the canonical text, before the start, after the
 * end, or between two steps.
 */
export function dateStep(col: Extract<ProjectedColumn, { type: 'date' }>, value: string, now: number): number | null {
  const t = col.format.parse(value);
  if (t === null || col.format.format(t) !== value) return null;
  const start = boundAt(col.start, now);
  const end = boundAt(col.end, now);
  if (end < start) return null;
  const step = FIXED_MS[col.unit];
  let guess: number;
  if (step !== undefined) guess = Math.floor((t - start) / (step * col.interval));
  else {
    const a = new Date(start);
    const b = new Date(t);
    const months = (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + (b.getUTCMonth() - a.getUTCMonth());
    guess = Math.floor(months / ((col.unit === 'YEARS' ? 12 : 1) * col.interval));
  }
  // The value is the formatted (truncated) instant: one of the steps next to the guess matches.
  for (const k of [guess - 1, guess, guess + 1]) {
    if (k < 0) continue;
    const at = addUnits(start, k * col.interval, col.unit);
    if (at > end) continue;
    if (col.format.format(at) === value) return k;
  }
  return null;
}

// ---- Java DateTimeFormatter patterns (the subset partition projection uses) ----

/** A compiled date pattern: parse to epoch ms (UTC) and format from it. */
export interface DateFormat {
  pattern: string;
  /** The finest unit the pattern holds. */
  precision: DateUnit;
  /** A regular expression (source, no anchors, no groups) that matches the formatted texts. */
  source: string;
  /** Epoch ms of the text, or null when it does not match the pattern exactly or is not a valid date. */
  parse(text: string): number | null;
  format(ms: number): string;
}

type Part = { lit: string } | { field: 'y' | 'M' | 'd' | 'H' | 'm' | 's' | 'S'; width: number };

/**
 * Compiles a Java DateTimeFormatter pattern: `y`/`u` (year; `yy` = 2000-2099), `M` (month),
 * `d`, `H`, `m`, `s`, `S` (fraction), `'quoted text'` and any other non-letter as a literal.
 * @throws Error for a pattern letter it does not support (named in the message).
 */
export function compileDateFormat(pattern: string): DateFormat {
  const parts: Part[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) throw new Error(`format ${JSON.stringify(pattern)} has an unterminated quote`);
      parts.push({ lit: end === i + 1 ? "'" : pattern.slice(i + 1, end) });
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      const letter = c === 'u' ? 'y' : c;
      if (!'yMdHmsS'.includes(letter)) throw new Error(`format ${JSON.stringify(pattern)}: the pattern letter "${c}" is not supported by the local endpoint (supported: y u M d H m s S)`);
      parts.push({ field: letter as 'y', width: j - i });
      i = j;
    } else {
      parts.push({ lit: c });
      i++;
    }
  }
  const has = (f: string) => parts.some((p) => 'field' in p && p.field === f);
  const precision: DateUnit = has('S') ? 'MILLISECONDS' : has('s') ? 'SECONDS' : has('m') ? 'MINUTES' : has('H') ? 'HOURS' : has('d') ? 'DAYS' : has('M') ? 'MONTHS' : 'YEARS';
  // A regular expression with one group per field; widths are exact except a single letter (1-2 digits, years any).
  const source = parts
    .map((p) => {
      if ('lit' in p) return p.lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      if (p.field === 'y') return p.width === 2 ? '\\d{2}' : `\\d{${Math.max(p.width, 1)},9}`;
      if (p.field === 'S') return `\\d{${p.width}}`;
      return p.width === 1 ? '\\d{1,2}' : `\\d{${p.width}}`;
    })
    .join('');
  const re = new RegExp(
    `^${parts
      .map((p) => {
        if ('lit' in p) return p.lit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        if (p.field === 'y') return p.width === 2 ? '(\\d{2})' : `(\\d{${Math.max(p.width, 1)},9})`;
        if (p.field === 'S') return `(\\d{${p.width}})`;
        return p.width === 1 ? '(\\d{1,2})' : `(\\d{${p.width}})`;
      })
      .join('')}$`,
  );
  const fields = parts.filter((p): p is Extract<Part, { field: string }> => 'field' in p);
  return {
    pattern,
    precision,
    source,
    parse(text) {
      const m = re.exec(text);
      if (!m) return null;
      const v = { y: 1970, M: 1, d: 1, H: 0, m: 0, s: 0, S: 0 };
      fields.forEach((f, k) => {
        const n = Number(m[k + 1]);
        if (f.field === 'y' && f.width === 2) v.y = 2000 + n;
        else if (f.field === 'S') v.S = Math.floor(n / 10 ** Math.max(0, f.width - 3)) * 10 ** Math.max(0, 3 - f.width);
        else v[f.field] = n;
      });
      if (v.M < 1 || v.M > 12 || v.d < 1 || v.H > 23 || v.m > 59 || v.s > 59) return null;
      const ms = Date.UTC(v.y, v.M - 1, v.d, v.H, v.m, v.s, v.S);
      // Date.UTC maps years 0-99 to 1900-1999; set the year explicitly.
      const d = new Date(ms);
      d.setUTCFullYear(v.y);
      if (d.getUTCMonth() !== v.M - 1 || d.getUTCDate() !== v.d) return null; // 2026-02-30
      return d.getTime();
    },
    format(ms) {
      const d = new Date(ms);
      return parts
        .map((p) => {
          if ('lit' in p) return p.lit;
          const pad = (n: number, w: number) => String(n).padStart(w, '0');
          switch (p.field) {
            case 'y':
              return p.width === 2 ? pad(d.getUTCFullYear() % 100, 2) : pad(d.getUTCFullYear(), p.width);
            case 'M':
              return pad(d.getUTCMonth() + 1, p.width);
            case 'd':
              return pad(d.getUTCDate(), p.width);
            case 'H':
              return pad(d.getUTCHours(), p.width);
            case 'm':
              return pad(d.getUTCMinutes(), p.width);
            case 's':
              return pad(d.getUTCSeconds(), p.width);
            case 'S':
              return pad(d.getUTCMilliseconds(), 3).padEnd(p.width, '0').slice(0, p.width);
          }
        })
        .join('');
    },
  };
}

/** A regular expression source (no anchors, no groups) matching every value a projected column can generate. */
export function valuePattern(col: ProjectedColumn): string {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  switch (col.type) {
    case 'date':
      return col.format.source;
    case 'integer':
      return '-?\\d+';
    case 'enum':
      return `(?:${col.values.map(esc).join('|')})`;
    case 'injected':
      return '[^/]+';
  }
}

/** Why Athena will never read a partition of this projection, or null when it is (or will be) read. */
export interface OutOfRange {
  column: string;
  value: string;
  reason: string;
}

/**
 * Checks partition values (in key order) against a projection at `now`, for the loader: a value
 * Athena will never generate is out of range. A date after a NOW-relative end is not (Athena
 * reads it once NOW reaches it) unless it lies more than `futureSteps` steps past the end.
 */
export function outOfRange(p: Projection, values: string[], now: number, futureSteps = 1): OutOfRange | null {
  for (let i = 0; i < p.columns.length; i++) {
    const col = p.columns[i]!;
    const value = values[i]!;
    if (col.type === 'date') {
      if (dateStep(col, value, now) !== null) continue;
      const t = col.format.parse(value);
      if (t === null || col.format.format(t) !== value) return { column: col.name, value, reason: `"${value}" is not a date in the projection format ${col.format.pattern}` };
      const range = `projection.${col.name}.range = '${col.start.text},${col.end.text}'`;
      if (t < boundAt(col.start, now)) {
        return { column: col.name, value, reason: `${col.name}=${value} is before the start of the partition projection range (${range}): Athena never reads it` };
      }
      const end = boundAt(col.end, now);
      if (t > end) {
        if (col.end.kind === 'now') {
          const horizon = addUnits(end, futureSteps * col.interval, col.unit);
          if (t <= horizon) continue;
          return { column: col.name, value, reason: `${col.name}=${value} is after the end of the partition projection range (${range}, NOW = ${new Date(now).toISOString()}) by more than ${futureSteps * col.interval} ${col.unit.toLowerCase()}: Athena does not read it before then` };
        }
        return { column: col.name, value, reason: `${col.name}=${value} is after the end of the partition projection range (${range}): Athena never reads it` };
      }
      return { column: col.name, value, reason: `${col.name}=${value} is not on a step of the partition projection (${range}, every ${col.interval} ${col.unit.toLowerCase()}): Athena never reads it` };
    }
    if (!projects(col, value, now)) {
      const what = col.type === 'enum' ? `projection.${col.name}.values` : `projection.${col.name}.range${col.type === 'integer' && col.digits !== undefined ? ` / digits ${col.digits}` : ''}`;
      return { column: col.name, value, reason: `${col.name}=${value} is not a value of the partition projection (${what}): Athena never reads it` };
    }
  }
  return null;
}
