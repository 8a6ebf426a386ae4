/**
 * Athena's failures, with Athena's error names, wording and positions, never DuckDB's.
 *
 * - A statement Athena cannot parse is refused by StartQueryExecution itself
 *   (`InvalidRequestException`, `line 1:8: mismatched input 'FROM'…`): {@link AthenaSyntaxError}.
 * - Anything found while running it ends the execution FAILED with
 *   `StateChangeReason = "<ERROR_NAME>: line L:C: <message>"` and an `AthenaError` (category,
 *   type number from Athena's error catalog): {@link AthenaQueryError}. DuckDB's errors are
 *   translated by {@link translateDuckDbError} (table, schema, column, function not found,
 *   casts, GROUP BY), their hints ("Did you mean …", candidate bindings) dropped.
 *
 * Positions are Trino's: 1-based line and column of the offending token in the query text.
 */

/** Error category of AthenaError: 1 SYSTEM, 2 USER, 3 OTHER. */
export type ErrorCategory = 1 | 2 | 3;

/** A query that failed while running: `reason` is the StateChangeReason. */
export class AthenaQueryError extends Error {
  constructor(
    /** Trino/Athena error name: TABLE_NOT_FOUND, COLUMN_NOT_FOUND, … (or a Hive `FAILED:` message when empty). */
    readonly errorName: string,
    message: string,
    /** AthenaError.ErrorType (Athena's error catalog). @default 1006 */
    readonly errorType = 1006,
    readonly category: ErrorCategory = 2,
  ) {
    super(message);
    this.name = 'AthenaQueryError';
  }

  /** The StateChangeReason Athena shows. */
  get reason(): string {
    return this.errorName ? `${this.errorName}: ${this.message}` : this.message;
  }
}

/** A statement StartQueryExecution refuses (a parse error): the message is Trino's parser message. */
export class AthenaSyntaxError extends Error {
  constructor(
    message: string,
    readonly athenaErrorCode = 'MALFORMED_QUERY',
  ) {
    super(message);
    this.name = 'AthenaSyntaxError';
  }
}

/** Hive-style DDL failure (`FAILED: SemanticException …`), as Athena's DDL path reports them. */
export function ddlFailure(message: string, errorType = 1003): AthenaQueryError {
  return new AthenaQueryError('', `FAILED: ${message}`, errorType, 2);
}

/** `line L:C` (1-based) of a character offset in `text`. */
export function lineCol(text: string, offset: number): string {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      start = i + 1;
    }
  }
  return `line ${line}:${offset - start + 1}`;
}

/**
 * The character offset DuckDB points at (`LINE n: <context>` and a caret under it), in the text
 * DuckDB ran; null when the message has no position.
 */
export function duckDbOffset(message: string, sql: string): number | null {
  const m = /\nLINE (\d+): (.*)\n( *)\^/.exec(message);
  if (!m) return null;
  const line = Number(m[1]);
  let context = m[2]!;
  let caret = m[3]!.length - `LINE ${m[1]}: `.length;
  const lines = sql.split('\n');
  const lineText = lines[line - 1];
  if (lineText === undefined) return null;
  let lineOffset = 0;
  for (let i = 0; i < line - 1; i++) lineOffset += lines[i]!.length + 1;
  if (context.startsWith('...')) {
    context = context.slice(3);
    caret -= 3;
  }
  if (context.endsWith('...')) context = context.slice(0, -3);
  const at = context.length ? lineText.indexOf(context) : 0;
  if (at < 0 || caret < 0) return null;
  return lineOffset + at + caret;
}

/** Trino's name for a DuckDB type as DuckDB prints it in errors. */
function trinoTypeName(duck: string): string {
  const t = duck.replace(/"/g, '').toUpperCase();
  const map: Record<string, string> = {
    STRING_LITERAL: 'varchar', VARCHAR: 'varchar', INTEGER_LITERAL: 'integer', INTEGER: 'integer', INT32: 'integer', BIGINT: 'bigint', INT64: 'bigint',
    SMALLINT: 'smallint', INT16: 'smallint', TINYINT: 'tinyint', INT8: 'tinyint', DOUBLE: 'double', FLOAT: 'real', BOOLEAN: 'boolean', BOOL: 'boolean',
    DATE: 'date', TIMESTAMP: 'timestamp(3)', 'TIMESTAMP WITH TIME ZONE': 'timestamp(3) with time zone', BLOB: 'varbinary', INTERVAL: 'interval day to second',
  };
  if (map[t]) return map[t]!;
  const dec = /^DECIMAL\((\d+),(\d+)\)$/.exec(t);
  if (dec) return `decimal(${dec[1]}, ${dec[2]})`;
  if (t.endsWith('[]')) return `array(${trinoTypeName(t.slice(0, -2))})`;
  return t.toLowerCase();
}

/** What a translation needs to know about the query. */
export interface ErrorContext {
  /** The query text as the user wrote it (positions refer to it). */
  query: string;
  /** The SQL DuckDB ran, and a map from its offsets to the query's (identity when the same). */
  ran: string;
  toQueryOffset?: (ranOffset: number) => number;
  /** The context database (QueryExecutionContext.Database). */
  database?: string;
}

const unquote = (s: string) => s.replace(/^"(.*)"$/, '$1');

/**
 * Translates a DuckDB error message into Athena's error for the same mistake.
 * Unknown kinds keep DuckDB's first line without its "X Error:" prefix, as GENERIC_INTERNAL_ERROR.
 */
export function translateDuckDbError(message: string, ctx: ErrorContext): AthenaQueryError {
  const first = message.replace(/^Failed to extract statements: /, '').split('\n')[0]!;
  const ranOffset = duckDbOffset(message, ctx.ran);
  const at = (fallbackToken?: string) => {
    let offset = ranOffset === null ? null : (ctx.toQueryOffset ?? ((x: number) => x))(ranOffset);
    if (offset === null && fallbackToken) {
      const i = ctx.query.toLowerCase().indexOf(fallbackToken.toLowerCase());
      offset = i < 0 ? null : i;
    }
    return offset === null ? '' : `${lineCol(ctx.query, offset)}: `;
  };
  let m: RegExpExecArray | null;
  if ((m = /^Catalog Error: Table with name "?([^"!]+?)"? does not exist because schema "?([^"]+?)"? does not exist/.exec(first))) {
    const schema = m[2]!.replace(/^awsdatacatalog\./i, '');
    return new AthenaQueryError('SCHEMA_NOT_FOUND', `${at(schema)}Schema '${schema}' does not exist`, 1301);
  }
  if ((m = /^Catalog Error: (?:Table|View) with name "?([^"!]+?)"? does not exist/.exec(first))) {
    const parts = m[1]!.split('.').filter((p) => p.toLowerCase() !== 'awsdatacatalog');
    const table = parts[parts.length - 1]!;
    const db = parts.length > 1 ? parts[parts.length - 2] : ctx.database ?? 'default';
    return new AthenaQueryError('TABLE_NOT_FOUND', `${at(table)}Table 'awsdatacatalog.${db}.${table}' does not exist`, 1110);
  }
  if ((m = /^Catalog Error: Schema with name "?([^"!]+?)"? does not exist/.exec(first))) {
    return new AthenaQueryError('SCHEMA_NOT_FOUND', `${at(m[1])}Schema '${m[1]}' does not exist`, 1301);
  }
  if ((m = /^Binder Error: Referenced column "?([^"]+)"? not found/.exec(first)) || (m = /^Binder Error: Referenced table "?([^"]+)"? not found/.exec(first))) {
    return new AthenaQueryError('COLUMN_NOT_FOUND', `${at(m[1])}Column '${m[1]}' cannot be resolved or requester is not authorized to access requested resources`, 1006);
  }
  if ((m = /^Binder Error: (?:Table|Values list) "([^"]+)" does not have a column named "([^"]+)"/.exec(first))) {
    return new AthenaQueryError('COLUMN_NOT_FOUND', `${at(m[2])}Column '${m[1]}.${m[2]}' cannot be resolved or requester is not authorized to access requested resources`, 1006);
  }
  if ((m = /^Catalog Error: (?:Scalar |Aggregate |Table )?Function with name "?([^"!]+?)"? does not exist/.exec(first)) || (m = /^Catalog Error: Macro Function with name "?([^"!]+?)"? does not exist/.exec(first))) {
    return new AthenaQueryError('FUNCTION_NOT_FOUND', `${at(m[1])}Function '${m[1]}' not registered`, 1303);
  }
  if ((m = /^Binder Error: (?:No function matches the given name and argument types|Could not choose a best candidate function for the function call) '?"?([a-z_0-9]+)\(([^)]*)\)/i.exec(first))) {
    const args = m[2]!.split(',').filter((x) => x.trim()).map((x) => trinoTypeName(x.trim())).join(', ');
    return new AthenaQueryError('FUNCTION_NOT_FOUND', `${at(m[1])}Unexpected parameters (${args}) for function ${m[1]}`, 1303);
  }
  if ((m = /^Binder Error: column "?([^"]+)"? must appear in the GROUP BY clause/.exec(first))) {
    return new AthenaQueryError('EXPRESSION_NOT_AGGREGATE', `${at(m[1])}'${m[1]}' must be an aggregate expression or appear in GROUP BY clause`, 1006);
  }
  if ((m = /^Conversion Error: Could not convert string '(.*)' to ([A-Z0-9_]+)/.exec(first))) {
    const to = trinoTypeName(m[2]!).replace(/^integer$/, 'INT').toUpperCase();
    return new AthenaQueryError('INVALID_CAST_ARGUMENT', `Cannot cast '${m[1]}' to ${to}`, 1106);
  }
  if ((m = /^Binder Error: Cannot compare values of type (\S+) and(?: type)? (\S+)/.exec(first))) {
    return new AthenaQueryError('TYPE_MISMATCH', `${at()}Cannot apply operator: ${trinoTypeName(m[1]!)} = ${trinoTypeName(m[2]!)}`, 1006);
  }
  if ((m = /^Conversion Error: (?:date|timestamp) field value out of range: "([^"]+)"/.exec(first))) {
    return new AthenaQueryError('INVALID_LITERAL', `${at(m[1])}'${m[1]}' is not a valid date literal`, 1006);
  }
  if (/^Parser Error: /.test(first)) return new AthenaQueryError('SYNTAX_ERROR', `${at()}${first.replace(/^Parser Error: /, '')}`, 1006);
  if (/^Out of Range Error: .*(overflow|out of range)/i.test(first)) return new AthenaQueryError('NUMERIC_VALUE_OUT_OF_RANGE', first.replace(/^Out of Range Error: /, ''), 1001);
  return new AthenaQueryError('GENERIC_INTERNAL_ERROR', first.replace(/^[A-Za-z ]+ Error: /, '').replace(/\s*Did you mean .*$/, ''), 200, 1);
}

/**
 * Trino's parser message for a statement DuckDB could not parse: `line L:C: mismatched input
 * 'tok'` (or `'<EOF>'` at the end), positioned at the token DuckDB points at.
 */
export function syntaxErrorFrom(duckMessage: string, query: string): AthenaSyntaxError {
  const offset = duckDbOffset(duckMessage, query);
  const near = /at or near "([^"]*)"/.exec(duckMessage)?.[1];
  if (offset === null || /at end of input/.test(duckMessage)) {
    const end = query.replace(/[\s;]+$/, '').length;
    return new AthenaSyntaxError(`${lineCol(query, end)}: mismatched input '<EOF>'`);
  }
  const token = near ?? /^[^\s,()]+|^./.exec(query.slice(offset))?.[0] ?? '';
  return new AthenaSyntaxError(`${lineCol(query, offset)}: mismatched input '${token}'`);
}
