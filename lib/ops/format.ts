/**
 * Text helpers of the operations commands: the aligned tables of `audit` and `status` (query
 * results use lib/cli/output.ts) and the `--since/--until` time parser of `replay`.
 */
import { LakeloaderError } from '../../lambdas/core/errors';

/** A cell: anything printable; null and undefined print as an empty CSV field, `NULL` in a table, `null` in JSON. */
export type Cell = string | number | bigint | boolean | null | undefined;

const text = (v: Cell, nullText: string): string => (v === null || v === undefined ? nullText : String(v));

/** Display width of a string, counting East Asian wide characters as 2 columns. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    w +=
      (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf) || (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) || (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1faff) || (c >= 0x20000 && c <= 0x3fffd)
        ? 2
        : 1;
  }
  return w;
}

const pad = (s: string, width: number, right: boolean) => {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(s)));
  return right ? fill + s : s + fill;
};

const NUMBER = /^-?\d+(\.\d+)?(e[-+]?\d+)?$/i;

/**
 * An aligned text table with a header rule; numeric columns are right-aligned. Control characters
 * in values are escaped so that one row stays one line.
 */
export function renderTable(headers: string[], rows: Cell[][]): string {
  const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  const cells = rows.map((r) => headers.map((_, i) => clean(text(r[i], 'NULL'))));
  const widths = headers.map((h, i) => Math.max(displayWidth(h), ...cells.map((r) => displayWidth(r[i]!))));
  const numeric = headers.map((_, i) => cells.length > 0 && rows.every((r) => r[i] === null || r[i] === undefined || NUMBER.test(String(r[i]))));
  const line = (vals: string[]) => vals.map((v, i) => pad(v, widths[i]!, numeric[i]!)).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n') + '\n';
}

/**
 * The time the CLI commands call "now": the `LAKELOADER_NOW` environment variable (ISO-8601 or
 * epoch ms) when set, so a run can be reproduced as of a fixed moment (tests do this), else the
 * clock.
 */
export function cliNow(env: NodeJS.ProcessEnv = process.env): number {
  const fixed = env.LAKELOADER_NOW;
  if (!fixed) return Date.now();
  const t = /^\d{12,}$/.test(fixed.trim()) ? Number(fixed.trim()) : Date.parse(fixed);
  if (Number.isNaN(t)) throw new TimeFormatError(fixed, 'LAKELOADER_NOW');
  return t;
}

/** Parses `--since/--until` values: ISO-8601 (`2026-01-15T10:00Z`, `2026-01-15`), epoch ms, or a duration ago (`90m`, `6h`, `3d`). */
export function parseTime(value: string, now = cliNow()): number {
  const rel = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/i.exec(value.trim());
  if (rel) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3 }[rel[2]!.toLowerCase() as 's' | 'm' | 'h' | 'd' | 'w'];
    return now - Number(rel[1]) * unit;
  }
  if (/^\d{12,}$/.test(value.trim())) return Number(value.trim());
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new TimeFormatError(value);
  return t;
}

/** A `--since/--until` value (or `LAKELOADER_NOW`) that is neither ISO-8601, epoch ms nor a duration. */
export class TimeFormatError extends LakeloaderError {
  readonly code = 'TIME_FORMAT';
  constructor(value: string, what = 'time') {
    super(`cannot read ${what} "${value}": use ISO-8601 (2026-01-15T10:00:00Z or 2026-01-15), epoch milliseconds, or a duration ago such as 90m, 6h, 3d`);
  }
}
