/**
 * How the CLI prints: one JSON object for machine-readable results, and query results as an
 * aligned text table, CSV (header row, then one line per row) or JSON (an array of objects).
 * Everything goes through an injectable writer so tests can capture it.
 */
import { LakeloaderError } from '../../lambdas/core/errors';

export type ResultFormat = 'table' | 'csv' | 'json';
export const RESULT_FORMATS: readonly ResultFormat[] = ['table', 'csv', 'json'];

/** A tabular result: column names and rows of values (null = SQL NULL). */
export interface ResultSet {
  columns: string[];
  rows: (string | null)[][];
}

/** Thrown for an unknown `--format`. */
export class OutputFormatError extends LakeloaderError {
  readonly code = 'OUTPUT_FORMAT';
  constructor(format: string) {
    super(`unknown --format "${format}"; use one of: ${RESULT_FORMATS.join(', ')}`);
  }
}

/** Validates a `--format` value. */
export function parseFormat(value: string): ResultFormat {
  if (!(RESULT_FORMATS as readonly string[]).includes(value)) throw new OutputFormatError(value);
  return value as ResultFormat;
}

/** Prints one JSON object on one line (what scripts parse). */
export function printJson(value: unknown, write: (s: string) => void = (s) => process.stdout.write(s)): void {
  write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
}

const csvCell = (v: string | null) => (v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** RFC 4180 CSV: a header row, then one line per row; NULL is an empty cell. */
export function formatCsv(r: ResultSet): string {
  return [r.columns, ...r.rows].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

/** A JSON array of row objects keyed by column name. */
export function formatJsonRows(r: ResultSet): string {
  return `${JSON.stringify(r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i] ?? null]))))}\n`;
}

const numeric = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** An aligned text table; numbers right-aligned, NULL shown as `NULL`. */
export function formatTable(r: ResultSet, title?: string): string {
  const cells = r.rows.map((row) => row.map((v) => (v === null ? 'NULL' : v)));
  const widths = r.columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[], isHeader = false) =>
    row.map((v, i) => (!isHeader && numeric.test(v) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join(' │ ').trimEnd();
  const sep = widths.map((w) => '─'.repeat(w)).join('─┼─');
  const out = [...(title ? [title] : []), line(r.columns, true), sep, ...cells.map((row) => line(row))];
  out.push(`(${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`);
  return out.join('\n') + '\n';
}

/** Formats a result set in the given format. */
export function formatResult(r: ResultSet, format: ResultFormat, title?: string): string {
  if (format === 'csv') return formatCsv(r);
  if (format === 'json') return formatJsonRows(r);
  return formatTable(r, title);
}
