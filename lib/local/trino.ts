/**
 * Trino (Athena engine v3) functions that DuckDB lacks or spells differently, as DuckDB TEMP
 * macros created in every query's DuckDB instance. The table is the single source for
 * docs/local-endpoint.md. Functions DuckDB already has with Trino's meaning (date_diff,
 * date_trunc, arbitrary, max_by, count_if, split, strpos, json_extract, ...) are not listed.
 */

import { AthenaQueryError } from './athena-errors';

/** One Trino-compatible definition: `params` → `body` (DuckDB SQL); `mapsTo` documents it. */
export interface TrinoMacro {
  name: string;
  /** One or more overloads: parameter list and DuckDB body. */
  overloads: Array<{ params: string[]; body: string }>;
  mapsTo: string;
}

/** MySQL-style date_format/date_parse specifiers (Trino) → DuckDB strftime/strptime. */
export const MYSQL_FORMAT_SPECIFIERS: ReadonlyArray<[string, string]> = [
  ['%a', '%a'], ['%b', '%b'], ['%c', '%-m'], ['%d', '%d'], ['%e', '%-d'], ['%f', '%f'], ['%H', '%H'], ['%h', '%I'],
  ['%I', '%I'], ['%i', '%M'], ['%j', '%j'], ['%k', '%-H'], ['%l', '%-I'], ['%M', '%B'], ['%m', '%m'], ['%p', '%p'],
  ['%r', '%I:%M:%S %p'], ['%S', '%S'], ['%s', '%S'], ['%T', '%H:%M:%S'], ['%v', '%V'], ['%W', '%A'], ['%x', '%G'],
  ['%Y', '%Y'], ['%y', '%y'], ['%%', '%%'],
];

/** SQL expression converting a MySQL format string expression `f` to a strftime format (in two passes via placeholders). */
function convertFormatSql(f: string): string {
  let expr = f;
  MYSQL_FORMAT_SPECIFIERS.forEach(([from], i) => {
    expr = `replace(${expr}, '${from}', chr(${0xe000 + i}))`;
  });
  MYSQL_FORMAT_SPECIFIERS.forEach(([, to], i) => {
    expr = `replace(${expr}, chr(${0xe000 + i}), '${to}')`;
  });
  return expr;
}

const UNIT_INTERVAL = (u: string, n: string) => `CAST(CAST(${n} AS VARCHAR) || ' ' || lower(${u}) AS INTERVAL)`;

export const TRINO_MACROS: readonly TrinoMacro[] = [
  { name: 'approx_distinct', overloads: [{ params: ['x'], body: 'approx_count_distinct(x)' }, { params: ['x', 'e'], body: 'approx_count_distinct(x)' }], mapsTo: 'approx_count_distinct(x) (the error bound is ignored)' },
  { name: 'approx_percentile', overloads: [{ params: ['x', 'p'], body: 'approx_quantile(x, p)' }], mapsTo: 'approx_quantile(x, p)' },
  { name: 'cardinality', overloads: [{ params: ['x'], body: "CASE json_type(to_json(x)) WHEN 'ARRAY' THEN json_array_length(to_json(x)) ELSE len(json_keys(to_json(x))) END" }], mapsTo: 'length of an array or number of map entries' },
  { name: 'element_at', overloads: [{ params: ['x', 'i'], body: 'x[i]' }], mapsTo: 'x[i] (array index from 1, negative from the end; map lookup, NULL when absent)' },
  { name: 'date_add', overloads: [{ params: ['unit', 'n', 'ts'], body: `ts + ${UNIT_INTERVAL('unit', 'n')}` }, { params: ['a', 'b'], body: 'system.main.date_add(a, b)' }], mapsTo: "ts + INTERVAL 'n unit' (DuckDB's 2-argument date_add still works)" },
  { name: 'from_iso8601_timestamp', overloads: [{ params: ['s'], body: 'CAST(s AS TIMESTAMPTZ)' }], mapsTo: 'CAST(s AS TIMESTAMPTZ) (session time zone UTC)' },
  { name: 'from_iso8601_date', overloads: [{ params: ['s'], body: 'CAST(s AS DATE)' }], mapsTo: 'CAST(s AS DATE)' },
  { name: 'to_iso8601', overloads: [{ params: ['x'], body: "CASE WHEN typeof(x) = 'DATE' THEN strftime(x, '%Y-%m-%d') ELSE strftime(CAST(x AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%g') || CASE WHEN typeof(x) LIKE '%WITH TIME ZONE' THEN 'Z' ELSE '' END END" }], mapsTo: "strftime(x, '%Y-%m-%dT%H:%M:%S.%g') (+ 'Z' for timestamp with time zone)" },
  { name: 'from_unixtime', overloads: [{ params: ['n'], body: 'make_timestamp(CAST(round(CAST(n AS DOUBLE) * 1000000) AS BIGINT))' }], mapsTo: 'make_timestamp(n * 1e6) (a UTC timestamp)' },
  { name: 'to_unixtime', overloads: [{ params: ['ts'], body: 'epoch(ts)' }], mapsTo: 'epoch(ts) (double, seconds)' },
  { name: 'regexp_split', overloads: [{ params: ['s', 'p'], body: 'regexp_split_to_array(s, p)' }], mapsTo: 'regexp_split_to_array(s, p)' },
  { name: 'regexp_count', overloads: [{ params: ['s', 'p'], body: 'len(regexp_extract_all(s, p))' }], mapsTo: 'len(regexp_extract_all(s, p))' },
  { name: 'arrays_overlap', overloads: [{ params: ['a', 'b'], body: 'list_has_any(a, b)' }], mapsTo: 'list_has_any(a, b)' },
  { name: 'regexp_like', overloads: [{ params: ['s', 'p'], body: 'regexp_matches(s, p)' }], mapsTo: 'regexp_matches(s, p)' },
  { name: 'regexp_replace_backrefs', overloads: [{ params: ['r'], body: "system.main.regexp_replace(r, '\\$(\\d)', '\\\\\\1', 'g')" }], mapsTo: 'helper: Trino $n back-references → DuckDB \\n' },
  { name: 'regexp_replace', overloads: [{ params: ['s', 'p'], body: "system.main.regexp_replace(s, p, '', 'g')" }, { params: ['s', 'p', 'r'], body: "system.main.regexp_replace(s, p, regexp_replace_backrefs(r), 'g')" }], mapsTo: "regexp_replace(s, p, r, 'g') (all matches, as Trino; $1 → \\1)" },
  { name: 'json_extract_scalar', overloads: [{ params: ['j', 'path'], body: "CASE WHEN json_type(CAST(j AS JSON), path) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, path) END" }], mapsTo: 'json_extract_string(j, path), NULL for objects and arrays' },
  { name: 'json_parse', overloads: [{ params: ['s'], body: 'CAST(s AS JSON)' }], mapsTo: 'CAST(s AS JSON)' },
  { name: 'json_format', overloads: [{ params: ['j'], body: 'CAST(j AS VARCHAR)' }], mapsTo: 'CAST(j AS VARCHAR)' },
  { name: 'json_size', overloads: [{ params: ['j', 'path'], body: "CASE json_type(CAST(j AS JSON), path) WHEN 'ARRAY' THEN json_array_length(j, path) WHEN 'OBJECT' THEN len(json_keys(j, path)) ELSE 0 END" }], mapsTo: 'json_array_length / number of json_keys at path' },
  { name: 'json_array_get', overloads: [{ params: ['j', 'i'], body: "json_extract(j, '$[' || CAST(i AS VARCHAR) || ']')" }], mapsTo: "json_extract(j, '$[i]')" },
  { name: 'date_format', overloads: [{ params: ['ts', 'f'], body: `strftime(ts, ${convertFormatSql('f')})` }], mapsTo: 'strftime(ts, f) with MySQL specifiers (%i minutes, %M month name, %s seconds, …) converted' },
  { name: 'day_of_week', overloads: [{ params: ['d'], body: 'isodow(d)' }], mapsTo: 'isodow(d) (1 = Monday … 7 = Sunday)' },
  { name: 'dow', overloads: [{ params: ['d'], body: 'isodow(d)' }], mapsTo: 'isodow(d)' },
  { name: 'day_of_year', overloads: [{ params: ['d'], body: 'dayofyear(d)' }], mapsTo: 'dayofyear(d)' },
  { name: 'doy', overloads: [{ params: ['d'], body: 'dayofyear(d)' }], mapsTo: 'dayofyear(d)' },
  { name: 'day_of_month', overloads: [{ params: ['d'], body: 'day(d)' }], mapsTo: 'day(d)' },
  { name: 'week_of_year', overloads: [{ params: ['d'], body: 'week(d)' }], mapsTo: 'week(d) (ISO week)' },
  { name: 'year_of_week', overloads: [{ params: ['d'], body: 'isoyear(d)' }], mapsTo: 'isoyear(d)' },
  { name: 'last_day_of_month', overloads: [{ params: ['d'], body: 'last_day(d)' }], mapsTo: 'last_day(d)' },
  { name: 'date', overloads: [{ params: ['x'], body: 'CAST(x AS DATE)' }], mapsTo: 'CAST(x AS DATE)' },
  { name: 'codepoint', overloads: [{ params: ['s'], body: 'unicode(s)' }], mapsTo: 'unicode(s)' },
  { name: 'is_nan', overloads: [{ params: ['x'], body: 'isnan(x)' }], mapsTo: 'isnan(x)' },
  { name: 'is_finite', overloads: [{ params: ['x'], body: 'isfinite(x)' }], mapsTo: 'isfinite(x)' },
  { name: 'is_infinite', overloads: [{ params: ['x'], body: 'isinf(x)' }], mapsTo: 'isinf(x)' },
  { name: 'nan', overloads: [{ params: [], body: "CAST('NaN' AS DOUBLE)" }], mapsTo: "CAST('NaN' AS DOUBLE)" },
  { name: 'truncate', overloads: [{ params: ['x'], body: 'trunc(x)' }], mapsTo: 'trunc(x)' },
  { name: 'rand', overloads: [{ params: [], body: 'random()' }], mapsTo: 'random()' },
  { name: 'array_join', overloads: [{ params: ['a', 'sep'], body: 'array_to_string(a, sep)' }], mapsTo: 'array_to_string(a, sep)' },
  { name: 'array_distinct', overloads: [{ params: ['a'], body: 'list_filter(a, (x, i) -> list_position(a, x) = i)' }], mapsTo: 'list_filter(a, (x, i) -> list_position(a, x) = i) (first occurrences, in order)' },
  { name: 'array_max', overloads: [{ params: ['a'], body: 'list_max(a)' }], mapsTo: 'list_max(a)' },
  { name: 'array_min', overloads: [{ params: ['a'], body: 'list_min(a)' }], mapsTo: 'list_min(a)' },
  { name: 'array_union', overloads: [{ params: ['a', 'b'], body: 'list_distinct(list_concat(a, b))' }], mapsTo: 'list_distinct(list_concat(a, b))' },
  { name: 'array_except', overloads: [{ params: ['a', 'b'], body: 'list_filter(list_distinct(a), x -> NOT list_contains(b, x))' }], mapsTo: 'list_filter(list_distinct(a), x -> NOT list_contains(b, x))' },
  { name: 'array_remove', overloads: [{ params: ['a', 'v'], body: 'list_filter(a, x -> x IS DISTINCT FROM v)' }], mapsTo: 'list_filter(a, x -> x <> v)' },
  { name: 'sequence', overloads: [{ params: ['a', 'b'], body: 'generate_series(a, b)' }, { params: ['a', 'b', 's'], body: 'generate_series(a, b, s)' }], mapsTo: 'generate_series(a, b[, step]) (inclusive)' },
  { name: 'slice', overloads: [{ params: ['a', 's', 'n'], body: 'list_slice(a, s, s + n - 1)' }], mapsTo: 'list_slice(a, s, s + n - 1)' },
  { name: 'map_agg', overloads: [{ params: ['k', 'v'], body: 'map(list(k), list(v))' }], mapsTo: 'map(list(k), list(v))' },
  { name: 'levenshtein_distance', overloads: [{ params: ['a', 'b'], body: 'levenshtein(a, b)' }], mapsTo: 'levenshtein(a, b)' },
  { name: 'hamming_distance', overloads: [{ params: ['a', 'b'], body: 'hamming(a, b)' }], mapsTo: 'hamming(a, b)' },
  { name: 'to_utf8', overloads: [{ params: ['s'], body: 'encode(s)' }], mapsTo: 'encode(s)' },
  { name: 'from_utf8', overloads: [{ params: ['b'], body: 'decode(b)' }], mapsTo: 'decode(b)' },
  { name: 'url_extract_host', overloads: [{ params: ['u'], body: "nullif(regexp_extract(u, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/]*@)?([^/:?#]+)', 1), '')" }], mapsTo: 'regexp_extract of the URL host' },
  { name: 'url_extract_path', overloads: [{ params: ['u'], body: "regexp_extract(u, '^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*)?([^?#]*)', 1)" }], mapsTo: 'regexp_extract of the URL path' },
  { name: 'url_extract_parameter', overloads: [{ params: ['u', 'p'], body: "url_decode(nullif(regexp_extract(u, '[?&]' || p || '=([^&#]*)', 1), ''))" }], mapsTo: 'regexp_extract of the query parameter, URL-decoded' },
  { name: 'every', overloads: [{ params: ['b'], body: 'bool_and(b)' }], mapsTo: 'bool_and(b)' },
  { name: 'split_to_map', overloads: [{ params: ['s', 'e', 'kv'], body: "map_from_entries(list_transform(string_split(s, e), x -> struct_pack(k := split_part(x, kv, 1), v := split_part(x, kv, 2))))" }], mapsTo: 'map_from_entries over string_split' },
  { name: 'current_timezone', overloads: [{ params: [], body: "'UTC'" }], mapsTo: "'UTC'" },
  { name: 'human_readable_seconds', overloads: [{ params: ['s'], body: 'CAST(to_seconds(CAST(s AS BIGINT)) AS VARCHAR)' }], mapsTo: 'the interval as text (format differs from Trino)' },
];

/** The CREATE TEMP MACRO statements for {@link TRINO_MACROS}. */
export function trinoMacroStatements(): string[] {
  return TRINO_MACROS.map((m) => `CREATE OR REPLACE TEMP MACRO ${m.name}${m.overloads.map((o) => `(${o.params.join(', ')}) AS ${o.body}`).join(', ')}`);
}

/** A MySQL-style format (Trino's date_format/date_parse) as a strftime/strptime format. */
export function mysqlToStrftime(f: string): string {
  let out = '';
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '%' && i + 1 < f.length) {
      const spec = MYSQL_FORMAT_SPECIFIERS.find(([from]) => from === f.slice(i, i + 2));
      out += spec ? spec[1] : f.slice(i + 1, i + 2);
      i++;
    } else out += f[i];
  }
  return out;
}

/** Joda-Time pattern letters (Trino's format_datetime/parse_datetime) → strftime, by run length (longest first). */
const JODA: Record<string, Array<[number, string]>> = {
  y: [[4, '%Y'], [2, '%y'], [1, '%Y']],
  Y: [[4, '%Y'], [2, '%y'], [1, '%Y']],
  x: [[4, '%G'], [1, '%G']],
  M: [[4, '%B'], [3, '%b'], [2, '%m'], [1, '%-m']],
  d: [[2, '%d'], [1, '%-d']],
  D: [[3, '%j'], [1, '%-j']],
  H: [[2, '%H'], [1, '%-H']],
  k: [[2, '%H'], [1, '%-H']],
  h: [[2, '%I'], [1, '%-I']],
  m: [[2, '%M'], [1, '%-M']],
  s: [[2, '%S'], [1, '%-S']],
  S: [[6, '%f'], [3, '%g'], [1, '%g']],
  a: [[1, '%p']],
  E: [[4, '%A'], [1, '%a']],
  e: [[1, '%u']],
  w: [[2, '%V'], [1, '%V']],
  Z: [[1, '%z']],
  z: [[1, '%Z']],
};

/**
 * A Joda-Time pattern as a strftime/strptime format (`yyyy-MM-dd'T'HH:mm:ss.SSS` →
 * `%Y-%m-%dT%H:%M:%S.%g`); quoted text is literal, `''` a quote.
 * @throws Error naming a pattern letter it cannot translate.
 */
export function jodaToStrftime(p: string): string {
  let out = '';
  let i = 0;
  while (i < p.length) {
    const c = p[i]!;
    if (c === "'") {
      const end = p.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in the format ${JSON.stringify(p)}`);
      out += end === i + 1 ? "'" : p.slice(i + 1, end).replace(/%/g, '%%');
      i = end + 1;
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (p[j] === c) j++;
      const forms = JODA[c];
      if (!forms) throw new Error(`the Joda pattern letter "${c}" in ${JSON.stringify(p)} is not supported by the local endpoint`);
      out += forms.find(([n]) => j - i >= n)![1];
      i = j;
    } else {
      out += c === '%' ? '%%' : c;
      i++;
    }
  }
  return out;
}

type Tok = { kind: string; text: string };

/**
 * The body of a two-parameter lambda `(x, y) -> body` with each parameter replaced by
 * `replace(index)` (for functions whose lambda DuckDB cannot take as it is).
 */
function lambdaBody(lambda: string | undefined, fn: string, replace: (param: number) => string): string {
  const m = /^\(\s*(\w+)\s*,\s*(\w+)\s*\)\s*->\s*([\s\S]+)$/.exec(lambda ?? '');
  if (!m) throw new AthenaQueryError('NOT_SUPPORTED', `${fn} needs a two-parameter lambda (x, y) -> … in the local endpoint`, 1200);
  const params = [m[1]!.toLowerCase(), m[2]!.toLowerCase()];
  // Replace the parameters where they are names (not after a '.', not inside strings).
  return m[3]!.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|(\.?)\b([A-Za-z_]\w*)\b/g, (all, dot: string | undefined, word: string | undefined) => {
    if (word === undefined || dot) return all;
    const i = params.indexOf(word.toLowerCase());
    return i < 0 ? all : replace(i);
  });
}

/**
 * Rewrites Trino calls DuckDB cannot take as macros (lambda arguments, constant formats) into
 * DuckDB SQL, on the tokens of a statement: transform/filter → list_transform/list_filter,
 * reduce → list_reduce (+ the output function), any_match/all_match/none_match → list_bool_or /
 * list_bool_and over list_transform, date_parse / parse_datetime / format_datetime with a literal
 * format → strptime / strftime with the translated format.
 * @throws AthenaQueryError NOT_SUPPORTED for a format that is not a string literal.
 */
export function rewriteTrinoCalls<T extends Tok>(tokens: T[], lex: (text: string) => T[]): T[] {
  const names = new Set(['transform', 'filter', 'reduce', 'any_match', 'all_match', 'none_match', 'zip_with', 'transform_values', 'transform_keys', 'date_parse', 'parse_datetime', 'format_datetime']);
  let out = tokens;
  for (let guard = 0; guard < 1000; guard++) {
    const i = out.findIndex((t, k) => {
      if (t.kind !== 'word' || !names.has(t.text.toLowerCase())) return false;
      const next = out.slice(k + 1).find((x) => x.kind !== 'ws' && x.kind !== 'comment');
      if (next?.text !== '(') return false;
      const prev = out.slice(0, k).reverse().find((x) => x.kind !== 'ws' && x.kind !== 'comment');
      // `count(*) FILTER (WHERE …)` is an aggregate's filter clause, not the function; `x.filter` a column.
      return !(prev && (prev.text === ')' || prev.text === '.'));
    });
    if (i < 0) return out;
    const name = out[i]!.text.toLowerCase();
    const open = out.findIndex((t, k) => k > i && t.text === '(');
    const args: string[] = [];
    let depth = 0;
    let cur = '';
    let close = -1;
    for (let k = open + 1; k < out.length; k++) {
      const t = out[k]!;
      if (t.text === '(' || t.text === '[') depth++;
      if ((t.text === ')' || t.text === ']') && depth-- === 0) {
        close = k;
        break;
      }
      if (t.text === ',' && depth === 0) {
        args.push(cur.trim());
        cur = '';
      } else cur += t.text;
    }
    if (close < 0) return out;
    args.push(cur.trim());
    const lit = (a: string | undefined, fn: string) => {
      if (a === undefined || !/^'(?:[^']|'')*'$/.test(a)) throw new AthenaQueryError('NOT_SUPPORTED', `${fn} needs its format as a string literal in the local endpoint (got ${a ?? 'nothing'})`, 1200);
      return a.slice(1, -1).replace(/''/g, "'");
    };
    const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
    let sql: string;
    const [a, b, c, d] = args;
    switch (name) {
      case 'transform':
        sql = `list_transform(${a}, ${b})`;
        break;
      case 'filter':
        sql = `list_filter(${a}, ${b})`;
        break;
      case 'reduce': {
        const identity = /^\(?\s*(\w+)\s*\)?\s*->\s*(\w+)$/.exec(d ?? '');
        const reduced = `list_reduce(${a}, ${c}, ${b})`;
        sql = !d || (identity && identity[1] === identity[2]) ? reduced : `list_transform([${reduced}], ${d})[1]`;
        break;
      }
      case 'any_match':
        sql = `(CASE WHEN len(${a}) = 0 THEN false ELSE list_bool_or(list_transform(${a}, ${b})) END)`;
        break;
      case 'all_match':
        sql = `(CASE WHEN len(${a}) = 0 THEN true ELSE list_bool_and(list_transform(${a}, ${b})) END)`;
        break;
      case 'none_match':
        sql = `(CASE WHEN len(${a}) = 0 THEN true ELSE NOT list_bool_or(list_transform(${a}, ${b})) END)`;
        break;
      case 'zip_with': {
        // Elements pair up by position; the shorter array is padded with NULL, as in Trino.
        const body = lambdaBody(c, name, (p) => [`(${a})[__i]`, `(${b})[__i]`][p]!);
        sql = `list_transform(range(1, greatest(len(${a}), len(${b})) + 1), __i -> ${body})`;
        break;
      }
      case 'transform_values':
      case 'transform_keys': {
        const body = lambdaBody(b, name, (p) => ['__e.key', '__e.value'][p]!);
        const entry = name === 'transform_values' ? `struct_pack(key := __e.key, value := ${body})` : `struct_pack(key := ${body}, value := __e.value)`;
        sql = `map_from_entries(list_transform(map_entries(${a}), __e -> ${entry}))`;
        break;
      }
      case 'date_parse':
        sql = `strptime(${a}, ${q(mysqlToStrftime(lit(b, name)))})`;
        break;
      case 'parse_datetime':
        sql = `CAST(strptime(${a}, ${q(jodaToStrftime(lit(b, name)))}) AS TIMESTAMPTZ)`;
        break;
      default:
        sql = `strftime(${a}, ${q(jodaToStrftime(lit(b, name)))})`;
    }
    out = [...out.slice(0, i), ...lex(sql), ...out.slice(close + 1)];
  }
  return out;
}
