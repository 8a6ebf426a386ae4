/**
 * A recursive-descent parser for the Athena statements that are not queries: Hive DDL (CREATE
 * EXTERNAL TABLE, CREATE DATABASE, DROP, ALTER TABLE ADD/DROP PARTITION, SET TBLPROPERTIES, MSCK
 * REPAIR TABLE, SHOW …, DESCRIBE) and the Trino statements that write (CREATE TABLE AS, INSERT
 * INTO), whose query part is handed on as text.
 *
 * Why hand-written: of the SQL parsers on npm, node-sql-parser has no Hive CREATE EXTERNAL TABLE
 * (its issue #2628), @guanmingchiu/sqlparser-ts (datafusion-sqlparser-rs) fails on
 * `map<string,array<int>>`, on several partitions in one ADD PARTITION and on DROP PARTITION, and
 * dt-sql-parser's ANTLR Hive grammar parses all of it but is 20 MB of ES modules plain Node cannot
 * load (directory imports), takes 0.6 s to load and 30-80 ms per statement, and would still need
 * a tree walker about this size. The grammar here is exactly the statements Athena's DDL accepts
 * and the errors point at the token like Hive's (`line 1:63 mismatched input ','…`, column from 0).
 */

/** A parse error: `offset` in the statement text and Hive's wording. */
export class DdlParseError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
    this.name = 'DdlParseError';
  }
}

/** A name, optionally qualified by its database (`db.table`), lower-cased as Glue stores it. */
export interface QualifiedName {
  db?: string;
  name: string;
  offset: number;
}

export interface ColumnDef {
  name: string;
  /** The Hive type text, lower-case, without spaces (`map<string,array<int>>`). */
  type: string;
  comment?: string;
}

/** `PARTITION (k = 'v', …)`: key (lower-case) and value text, in the order written. */
export type PartitionSpec = Array<[string, string]>;

export type DdlStatement =
  | { kind: 'createDatabase'; name: string; ifNotExists: boolean; comment?: string; location?: string; properties: Record<string, string> }
  | { kind: 'dropDatabase'; name: string; ifExists: boolean; cascade: boolean }
  | {
      kind: 'createTable';
      table: QualifiedName;
      ifNotExists: boolean;
      columns: ColumnDef[];
      partitionedBy: ColumnDef[];
      comment?: string;
      serde?: string;
      serdeProperties: Record<string, string>;
      /** `STORED AS <format>` (upper-case), when given that way. */
      storedAs?: string;
      inputFormat?: string;
      outputFormat?: string;
      location?: string;
      properties: Record<string, string>;
    }
  | { kind: 'ctas'; table: QualifiedName; ifNotExists: boolean; with: Record<string, string | string[]>; query: string; queryOffset: number; withData: boolean }
  | { kind: 'insert'; table: QualifiedName; columns?: string[]; query: string; queryOffset: number }
  | { kind: 'dropTable'; table: QualifiedName; ifExists: boolean }
  | { kind: 'addPartitions'; table: QualifiedName; ifNotExists: boolean; partitions: Array<{ spec: PartitionSpec; location?: string }> }
  | { kind: 'dropPartitions'; table: QualifiedName; ifExists: boolean; partitions: PartitionSpec[] }
  | { kind: 'setTableProperties'; table: QualifiedName; properties: Record<string, string> }
  | { kind: 'msck'; table: QualifiedName }
  | { kind: 'showPartitions'; table: QualifiedName }
  | { kind: 'showCreateTable'; table: QualifiedName }
  | { kind: 'showTables'; db?: string; pattern?: string }
  | { kind: 'showDatabases'; pattern?: string }
  | { kind: 'showColumns'; table: QualifiedName }
  | { kind: 'showTblProperties'; table: QualifiedName; key?: string }
  | { kind: 'describe'; table: QualifiedName; partition?: PartitionSpec };

interface Tok {
  k: 'word' | 'ident' | 'str' | 'num' | 'p' | 'eof';
  /** Upper-case for words, the value for identifiers and strings, the character for punctuation. */
  v: string;
  start: number;
  end: number;
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', '0': '\0', '\\': '\\', "'": "'", '"': '"' };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && src[i + 1] === '-') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && src[i + 1] === '*') {
      const e = src.indexOf('*/', i + 2);
      i = e < 0 ? src.length : e + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      const start = i++;
      let v = '';
      for (;;) {
        if (i >= src.length) throw new DdlParseError(start, `unterminated ${c === '`' ? 'quoted identifier' : 'string literal'}`);
        const ch = src[i]!;
        if (ch === c && src[i + 1] === c) {
          v += c;
          i += 2;
        } else if (ch === c) {
          i++;
          break;
        } else if (ch === '\\' && c !== '`') {
          const n = src[i + 1] ?? '';
          const oct = /^[0-7]{3}/.exec(src.slice(i + 1));
          const uni = /^u([0-9a-fA-F]{4})/.exec(src.slice(i + 1));
          if (oct) {
            v += String.fromCharCode(parseInt(oct[0], 8));
            i += 4;
          } else if (uni) {
            v += String.fromCharCode(parseInt(uni[1]!, 16));
            i += 6;
          } else {
            v += ESCAPES[n] ?? n;
            i += 2;
          }
        } else {
          v += ch;
          i++;
        }
      }
      out.push({ k: c === "'" ? 'str' : 'ident', v, start, end: i });
    } else if (/[A-Za-z_]/.test(c)) {
      const start = i;
      while (i < src.length && /[A-Za-z0-9_$]/.test(src[i]!)) i++;
      out.push({ k: 'word', v: src.slice(start, i).toUpperCase(), start, end: i });
    } else if (/[0-9]/.test(c) || (c === '-' && /[0-9]/.test(src[i + 1] ?? ''))) {
      const start = i++;
      while (i < src.length && /[0-9.]/.test(src[i]!)) i++;
      out.push({ k: 'num', v: src.slice(start, i), start, end: i });
    } else {
      out.push({ k: 'p', v: c, start: i, end: i + 1 });
      i++;
    }
  }
  out.push({ k: 'eof', v: '<EOF>', start: src.length, end: src.length });
  return out;
}

/** The statements this parser takes, by their first words (the rest run as queries). */
export function isDdlStatement(sql: string): boolean {
  const m = /^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*([A-Za-z]+)\s+([A-Za-z]+)?/.exec(sql);
  if (!m) return false;
  const a = m[1]!.toUpperCase();
  const b = (m[2] ?? '').toUpperCase();
  if (a === 'CREATE') return ['EXTERNAL', 'TABLE', 'DATABASE', 'SCHEMA'].includes(b);
  if (a === 'DROP') return ['TABLE', 'DATABASE', 'SCHEMA'].includes(b);
  if (a === 'ALTER') return b === 'TABLE';
  return ['MSCK', 'SHOW', 'DESCRIBE', 'DESC', 'INSERT'].includes(a);
}

/**
 * Parses one statement (a trailing `;` allowed).
 * @throws DdlParseError with the offset of the offending token.
 */
export function parseDdl(sql: string): DdlStatement {
  const toks = tokenize(sql);
  let pos = 0;
  const peek = (n = 0) => toks[Math.min(pos + n, toks.length - 1)]!;
  const fail = (expecting: string, t = peek()): never => {
    throw new DdlParseError(t.start, t.k === 'eof' ? `mismatched input '<EOF>' expecting ${expecting}` : `mismatched input '${sql.slice(t.start, t.end)}' expecting ${expecting}`);
  };
  const isWord = (...ws: string[]) => ws.every((w, i) => peek(i).k === 'word' && peek(i).v === w);
  const accept = (...ws: string[]) => {
    if (!isWord(...ws)) return false;
    pos += ws.length;
    return true;
  };
  const expectWord = (...ws: string[]) => {
    for (const w of ws) {
      if (!accept(w)) fail(w);
    }
  };
  const acceptP = (ch: string) => {
    if (peek().k === 'p' && peek().v === ch) {
      pos++;
      return true;
    }
    return false;
  };
  const expectP = (ch: string) => {
    if (!acceptP(ch)) fail(`'${ch}'`);
  };
  const identifier = (): string => {
    const t = peek();
    if (t.k === 'word' || t.k === 'ident') {
      pos++;
      return t.k === 'word' ? sql.slice(t.start, t.end).toLowerCase() : t.v.toLowerCase();
    }
    return fail('Identifier');
  };
  const qualified = (): QualifiedName => {
    const offset = peek().start;
    const a = identifier();
    if (acceptP('.')) {
      const b = identifier();
      if (acceptP('.')) {
        // catalog.db.table: only the Glue catalog exists.
        const c = identifier();
        if (a !== 'awsdatacatalog') throw new DdlParseError(offset, `catalog '${a}' does not exist (only awsdatacatalog)`);
        return { db: b, name: c, offset };
      }
      return { db: a, name: b, offset };
    }
    return { name: a, offset };
  };
  const string = (): string => {
    const t = peek();
    if (t.k !== 'str' && !(t.k === 'ident' && sql[t.start] === '"')) return fail('StringLiteral');
    pos++;
    return t.v;
  };
  const properties = (): Record<string, string> => {
    const out: Record<string, string> = {};
    expectP('(');
    if (acceptP(')')) return out;
    do {
      const k = string();
      expectP('=');
      out[k] = string();
    } while (acceptP(','));
    expectP(')');
    return out;
  };
  const typeText = (): string => {
    // A Hive type: words, numbers and <>(),: nested; ends at a top-level ',' or ')' or COMMENT.
    const start = peek().start;
    let depth = 0;
    let end = start;
    for (;;) {
      const t = peek();
      if (t.k === 'eof') break;
      if (depth === 0 && t.k === 'p' && (t.v === ',' || t.v === ')')) break;
      if (depth === 0 && t.k === 'word' && t.v === 'COMMENT') break;
      if (t.k === 'p' && (t.v === '<' || t.v === '(')) depth++;
      if (t.k === 'p' && (t.v === '>' || t.v === ')')) depth--;
      end = t.end;
      pos++;
    }
    if (end === start) fail('a column type');
    return sql.slice(start, end).replace(/\s+/g, '').toLowerCase();
  };
  const columns = (): ColumnDef[] => {
    const out: ColumnDef[] = [];
    expectP('(');
    do {
      const name = identifier();
      const type = typeText();
      const col: ColumnDef = { name, type };
      if (accept('COMMENT')) col.comment = string();
      out.push(col);
    } while (acceptP(','));
    expectP(')');
    return out;
  };
  const partitionSpec = (): PartitionSpec => {
    const out: PartitionSpec = [];
    expectP('(');
    do {
      const k = identifier();
      expectP('=');
      const t = peek();
      if (t.k === 'str' || t.k === 'num' || (t.k === 'ident' && sql[t.start] === '"')) {
        pos++;
        out.push([k, t.v]);
      } else fail('a partition value');
    } while (acceptP(','));
    expectP(')');
    return out;
  };
  const ifNotExists = () => accept('IF', 'NOT', 'EXISTS');
  const ifExists = () => accept('IF', 'EXISTS');
  const rest = (): { query: string; queryOffset: number } => {
    const t = peek();
    if (t.k === 'eof') fail('a query');
    let end = sql.length;
    while (end > t.start && /[\s;]/.test(sql[end - 1]!)) end--;
    pos = toks.length - 1;
    return { query: sql.slice(t.start, end), queryOffset: t.start };
  };
  const end = <T extends DdlStatement>(s: T): T => {
    while (acceptP(';'));
    if (peek().k !== 'eof') fail('<EOF>');
    return s;
  };

  if (accept('CREATE')) {
    if (accept('DATABASE') || accept('SCHEMA')) {
      const ine = ifNotExists();
      const name = identifier();
      const s: Extract<DdlStatement, { kind: 'createDatabase' }> = { kind: 'createDatabase', name, ifNotExists: ine, properties: {} };
      for (;;) {
        if (accept('COMMENT')) s.comment = string();
        else if (accept('LOCATION')) s.location = string();
        else if (accept('WITH', 'DBPROPERTIES')) s.properties = properties();
        else break;
      }
      return end(s);
    }
    const external = accept('EXTERNAL');
    expectWord('TABLE');
    const ine = ifNotExists();
    const table = qualified();
    if (!external) {
      // Trino CREATE TABLE AS: optional WITH (k = v, …), then AS <query> [WITH [NO] DATA].
      const withProps: Record<string, string | string[]> = {};
      if (accept('WITH')) {
        expectP('(');
        do {
          const k = identifier();
          expectP('=');
          const t = peek();
          if (t.k === 'str' || t.k === 'num') {
            pos++;
            withProps[k] = t.v;
          } else if (accept('TRUE') || accept('FALSE')) {
            withProps[k] = toks[pos - 1]!.v.toLowerCase();
          } else if (accept('ARRAY')) {
            expectP('[');
            const list: string[] = [];
            if (!acceptP(']')) {
              do list.push(string());
              while (acceptP(','));
              expectP(']');
            }
            withProps[k] = list;
          } else fail('a property value');
        } while (acceptP(','));
        expectP(')');
      }
      if (!accept('AS')) {
        if (peek().k === 'p' && peek().v === '(') throw new DdlParseError(toks[0]!.start, 'External keyword required for table type HIVE');
        fail("'AS'");
      }
      const { query, queryOffset } = rest();
      const data = /\s+WITH\s+(NO\s+)?DATA\s*$/i.exec(query);
      return {
        kind: 'ctas',
        table,
        ifNotExists: ine,
        with: withProps,
        query: data ? query.slice(0, data.index) : query,
        queryOffset,
        withData: !data?.[1],
      };
    }
    const s: Extract<DdlStatement, { kind: 'createTable' }> = { kind: 'createTable', table, ifNotExists: ine, columns: [], partitionedBy: [], serdeProperties: {}, properties: {} };
    s.columns = columns();
    for (;;) {
      if (accept('COMMENT')) s.comment = string();
      else if (accept('PARTITIONED', 'BY')) s.partitionedBy = columns();
      else if (accept('CLUSTERED', 'BY')) {
        expectP('(');
        do identifier();
        while (acceptP(','));
        expectP(')');
        expectWord('INTO');
        if (peek().k !== 'num') fail('a number of buckets');
        pos++;
        expectWord('BUCKETS');
      } else if (accept('ROW', 'FORMAT')) {
        if (accept('SERDE')) {
          s.serde = string();
          if (accept('WITH', 'SERDEPROPERTIES')) s.serdeProperties = { ...s.serdeProperties, ...properties() };
        } else if (accept('DELIMITED')) {
          s.serde = 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe';
          for (;;) {
            if (accept('FIELDS', 'TERMINATED', 'BY')) {
              const d = string();
              s.serdeProperties['field.delim'] = d;
              s.serdeProperties['serialization.format'] = d;
              if (accept('ESCAPED', 'BY')) s.serdeProperties['escape.delim'] = string();
            } else if (accept('COLLECTION', 'ITEMS', 'TERMINATED', 'BY')) s.serdeProperties['collection.delim'] = string();
            else if (accept('MAP', 'KEYS', 'TERMINATED', 'BY')) s.serdeProperties['mapkey.delim'] = string();
            else if (accept('LINES', 'TERMINATED', 'BY')) s.serdeProperties['line.delim'] = string();
            else if (accept('NULL', 'DEFINED', 'AS')) s.serdeProperties['serialization.null.format'] = string();
            else break;
          }
        } else fail("'SERDE' or 'DELIMITED'");
      } else if (accept('WITH', 'SERDEPROPERTIES')) s.serdeProperties = { ...s.serdeProperties, ...properties() };
      else if (accept('STORED', 'AS')) {
        if (accept('INPUTFORMAT')) {
          s.inputFormat = string();
          expectWord('OUTPUTFORMAT');
          s.outputFormat = string();
        } else {
          const t = peek();
          if (t.k !== 'word') fail('a file format');
          pos++;
          s.storedAs = t.v;
        }
      } else if (accept('LOCATION')) s.location = string();
      else if (accept('TBLPROPERTIES')) s.properties = properties();
      else break;
    }
    return end(s);
  }
  if (accept('DROP')) {
    if (accept('DATABASE') || accept('SCHEMA')) {
      const ie = ifExists();
      const name = identifier();
      const cascade = accept('CASCADE');
      if (!cascade) accept('RESTRICT');
      return end({ kind: 'dropDatabase', name, ifExists: ie, cascade });
    }
    expectWord('TABLE');
    const ie = ifExists();
    return end({ kind: 'dropTable', table: qualified(), ifExists: ie });
  }
  if (accept('ALTER', 'TABLE')) {
    const table = qualified();
    if (accept('ADD')) {
      const ine = ifNotExists();
      const partitions: Array<{ spec: PartitionSpec; location?: string }> = [];
      while (accept('PARTITION')) {
        const spec = partitionSpec();
        partitions.push(accept('LOCATION') ? { spec, location: string() } : { spec });
      }
      if (partitions.length === 0) fail("'PARTITION'");
      return end({ kind: 'addPartitions', table, ifNotExists: ine, partitions });
    }
    if (accept('DROP')) {
      const ie = ifExists();
      const partitions: PartitionSpec[] = [];
      do {
        expectWord('PARTITION');
        partitions.push(partitionSpec());
      } while (acceptP(','));
      return end({ kind: 'dropPartitions', table, ifExists: ie, partitions });
    }
    if (accept('SET', 'TBLPROPERTIES')) return end({ kind: 'setTableProperties', table, properties: properties() });
    return fail("'ADD', 'DROP' or 'SET TBLPROPERTIES'");
  }
  if (accept('MSCK')) {
    expectWord('REPAIR', 'TABLE');
    return end({ kind: 'msck', table: qualified() });
  }
  if (accept('INSERT')) {
    expectWord('INTO');
    const table = qualified();
    let cols: string[] | undefined;
    if (peek().k === 'p' && peek().v === '(' && !(peek(1).k === 'word' && (peek(1).v === 'SELECT' || peek(1).v === 'WITH' || peek(1).v === 'VALUES'))) {
      pos++;
      cols = [];
      do cols.push(identifier());
      while (acceptP(','));
      expectP(')');
    }
    const { query, queryOffset } = rest();
    return { kind: 'insert', table, ...(cols ? { columns: cols } : {}), query, queryOffset };
  }
  if (accept('SHOW')) {
    if (accept('PARTITIONS')) return end({ kind: 'showPartitions', table: qualified() });
    if (accept('CREATE', 'TABLE')) return end({ kind: 'showCreateTable', table: qualified() });
    if (accept('TABLES')) {
      let db: string | undefined;
      if (accept('IN') || accept('FROM')) db = identifier();
      accept('LIKE');
      const pattern = peek().k === 'str' ? string() : undefined;
      return end({ kind: 'showTables', ...(db ? { db } : {}), ...(pattern !== undefined ? { pattern } : {}) });
    }
    if (accept('DATABASES') || accept('SCHEMAS')) {
      accept('LIKE');
      const pattern = peek().k === 'str' ? string() : undefined;
      return end({ kind: 'showDatabases', ...(pattern !== undefined ? { pattern } : {}) });
    }
    if (accept('COLUMNS')) {
      if (!accept('IN') && !accept('FROM')) fail("'IN' or 'FROM'");
      const table = qualified();
      if ((accept('IN') || accept('FROM')) && !table.db) table.db = identifier();
      return end({ kind: 'showColumns', table });
    }
    if (accept('TBLPROPERTIES')) {
      const table = qualified();
      let key: string | undefined;
      if (acceptP('(')) {
        key = string();
        expectP(')');
      }
      return end({ kind: 'showTblProperties', table, ...(key !== undefined ? { key } : {}) });
    }
    return fail("'PARTITIONS', 'CREATE TABLE', 'TABLES', 'DATABASES', 'COLUMNS' or 'TBLPROPERTIES'");
  }
  if (accept('DESCRIBE') || accept('DESC')) {
    if (!accept('EXTENDED')) accept('FORMATTED');
    const table = qualified();
    const partition = accept('PARTITION') ? partitionSpec() : undefined;
    return end({ kind: 'describe', table, ...(partition ? { partition } : {}) });
  }
  return fail("'CREATE', 'DROP', 'ALTER', 'MSCK', 'INSERT', 'SHOW' or 'DESCRIBE'");
}

/** Hive's `line L:C` for a parse error (column counted from 0, as Hive's ParseException does). */
export function hiveLineCol(sql: string, offset: number): string {
  const before = sql.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}:${offset - (before.lastIndexOf('\n') + 1)}`;
}
