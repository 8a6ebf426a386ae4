/**
 * The Glue Data Catalog API (JSON 1.1) of the local endpoint: databases, tables (with VersionId
 * optimistic locking) and partitions (batch create/get/delete, GetPartitions with paging and
 * expressions). State is kept in memory and persisted as JSON files under `<dataDir>/glue/`
 * (one file per database, per table, and per table's partitions) after every change, so it
 * survives a restart. Mutations are serialized.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AwsJsonError, glueErrors } from './errors';
import { atomicWrite } from './store';

type Json = Record<string, unknown>;

export interface GlueColumn {
  Name: string;
  Type?: string;
  Comment?: string;
  Parameters?: Record<string, string>;
}

export interface GlueStorageDescriptor {
  Columns?: GlueColumn[];
  Location?: string;
  InputFormat?: string;
  OutputFormat?: string;
  SerdeInfo?: { SerializationLibrary?: string; Parameters?: Record<string, string> };
  [k: string]: unknown;
}

/** A stored table (the TableInput plus what Glue adds). */
export interface GlueTable {
  Name: string;
  DatabaseName: string;
  PartitionKeys?: GlueColumn[];
  StorageDescriptor?: GlueStorageDescriptor;
  Parameters?: Record<string, string>;
  TableType?: string;
  CreateTime: number;
  UpdateTime: number;
  VersionId: string;
  [k: string]: unknown;
}

/** A stored partition. */
export interface GluePartition {
  Values: string[];
  DatabaseName: string;
  TableName: string;
  StorageDescriptor?: GlueStorageDescriptor;
  Parameters?: Record<string, string>;
  CreationTime: number;
  LastAccessTime?: number;
  [k: string]: unknown;
}

interface DatabaseState {
  db: Json & { Name: string; CreateTime: number };
  tables: Map<string, { table: GlueTable; partitions: Map<string, GluePartition> }>;
}

const CATALOG_ID = '000000000000';
const now = () => Date.now() / 1000;
const pkey = (values: string[]) => JSON.stringify(values);

function str(input: Json, field: string, required = true): string {
  const v = input[field];
  if (typeof v === 'string' && v.length > 0) return v;
  if (!required && v === undefined) return '';
  throw glueErrors.invalidInput(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null or empty`);
}

function obj<T>(input: Json, field: string): T {
  const v = input[field];
  if (v && typeof v === 'object') return v as T;
  throw glueErrors.invalidInput(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
}

function page<T>(items: T[], input: Json, defaultMax: number): { items: T[]; NextToken?: string } {
  const start = input.NextToken ? Number(Buffer.from(String(input.NextToken), 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw glueErrors.invalidInput('Invalid NextToken');
  const max = input.MaxResults === undefined ? defaultMax : Number(input.MaxResults);
  if (!Number.isInteger(max) || max < 1) throw glueErrors.invalidInput('MaxResults must be a positive integer');
  const slice = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
  return { items: slice, ...(next ? { NextToken: next } : {}) };
}

/** The local Glue catalog. */
export class LocalGlueCatalog {
  private readonly dbs = new Map<string, DatabaseState>();
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(private readonly root: string) {}

  /** Opens (and loads) the catalog persisted under `<dataDir>/glue`. */
  static async open(dataDir: string): Promise<LocalGlueCatalog> {
    const cat = new LocalGlueCatalog(join(dataDir, 'glue'));
    await cat.load();
    return cat;
  }

  private async load(): Promise<void> {
    let dbDirs: string[];
    try {
      dbDirs = await readdir(this.root);
    } catch {
      return;
    }
    for (const d of dbDirs) {
      if (d === '.tmp') continue;
      let db: DatabaseState['db'];
      try {
        db = JSON.parse(await readFile(join(this.root, d, 'database.json'), 'utf8'));
      } catch {
        continue;
      }
      const state: DatabaseState = { db, tables: new Map() };
      for (const t of await readdir(join(this.root, d, 'tables')).catch(() => [] as string[])) {
        try {
          const table = JSON.parse(await readFile(join(this.root, d, 'tables', t, 'table.json'), 'utf8')) as GlueTable;
          const parts = JSON.parse(await readFile(join(this.root, d, 'tables', t, 'partitions.json'), 'utf8').catch(() => '[]')) as GluePartition[];
          state.tables.set(table.Name, { table, partitions: new Map(parts.map((p) => [pkey(p.Values), p])) });
        } catch {
          continue;
        }
      }
      this.dbs.set(db.Name, state);
    }
  }

  private dbDir(db: string) {
    return join(this.root, safeFileName(db));
  }
  private tableDir(db: string, table: string) {
    return join(this.dbDir(db), 'tables', safeFileName(table));
  }
  private async saveDb(db: string): Promise<void> {
    await atomicWrite(join(this.root, '.tmp'), join(this.dbDir(db), 'database.json'), JSON.stringify(this.dbs.get(db)!.db));
  }
  private async saveTable(db: string, table: string, partitionsToo: boolean): Promise<void> {
    const t = this.dbs.get(db)!.tables.get(table)!;
    await atomicWrite(join(this.root, '.tmp'), join(this.tableDir(db, table), 'table.json'), JSON.stringify(t.table));
    if (partitionsToo) await atomicWrite(join(this.root, '.tmp'), join(this.tableDir(db, table), 'partitions.json'), JSON.stringify([...t.partitions.values()]));
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  // ---- read access for the Athena engine ----

  /** Database names (lower-case). */
  databaseNames(): string[] {
    return [...this.dbs.keys()];
  }
  /** Tables of a database, or undefined when the database does not exist. */
  tablesOf(db: string): GlueTable[] | undefined {
    const d = this.dbs.get(db.toLowerCase());
    return d ? [...d.tables.values()].map((t) => t.table) : undefined;
  }
  /** Registered partitions of a table. */
  partitionsOf(db: string, table: string): GluePartition[] {
    return [...(this.dbs.get(db.toLowerCase())?.tables.get(table.toLowerCase())?.partitions.values() ?? [])];
  }

  // ---- the API ----

  /** Dispatches one Glue operation. */
  async handle(op: string, input: Json): Promise<unknown> {
    switch (op) {
      case 'CreateDatabase':
        return this.serialize(() => this.createDatabase(input));
      case 'GetDatabase':
        return { Database: this.requireDb(str(input, 'Name')).db };
      case 'GetDatabases': {
        const p = page([...this.dbs.values()].map((d) => d.db), input, 100);
        return { DatabaseList: p.items, NextToken: p.NextToken };
      }
      case 'UpdateDatabase':
        return this.serialize(async () => {
          const d = this.requireDb(str(input, 'Name'));
          d.db = { ...d.db, ...obj<Json>(input, 'DatabaseInput'), Name: d.db.Name, CreateTime: d.db.CreateTime };
          await this.saveDb(d.db.Name);
          return {};
        });
      case 'DeleteDatabase':
        return this.serialize(async () => {
          const name = str(input, 'Name').toLowerCase();
          this.requireDb(name);
          this.dbs.delete(name);
          await rm(this.dbDir(name), { recursive: true, force: true });
          return {};
        });
      case 'CreateTable':
        return this.serialize(() => this.createTable(input));
      case 'GetTable': {
        const t = this.requireTable(str(input, 'DatabaseName'), str(input, 'Name'));
        return { Table: t.table };
      }
      case 'GetTables': {
        const d = this.requireDb(str(input, 'DatabaseName'));
        let tables = [...d.tables.values()].map((t) => t.table);
        if (typeof input.Expression === 'string' && input.Expression) {
          const re = new RegExp(`^(?:${input.Expression.replace(/\*/g, '.*')})$`, 'i');
          tables = tables.filter((t) => re.test(t.Name));
        }
        const p = page(tables, input, 100);
        return { TableList: p.items, NextToken: p.NextToken };
      }
      case 'UpdateTable':
        return this.serialize(() => this.updateTable(input));
      case 'DeleteTable':
        return this.serialize(async () => {
          const db = str(input, 'DatabaseName').toLowerCase();
          const name = str(input, 'Name').toLowerCase();
          this.requireTable(db, name);
          this.dbs.get(db)!.tables.delete(name);
          await rm(this.tableDir(db, name), { recursive: true, force: true });
          return {};
        });
      case 'BatchDeleteTable':
        return this.serialize(async () => {
          const db = str(input, 'DatabaseName').toLowerCase();
          const d = this.requireDb(db);
          const Errors: Json[] = [];
          for (const n of (input.TablesToDelete as string[]) ?? []) {
            const name = n.toLowerCase();
            if (!d.tables.has(name)) Errors.push({ TableName: n, ErrorDetail: { ErrorCode: 'EntityNotFoundException', ErrorMessage: `Table ${n} not found.` } });
            else {
              d.tables.delete(name);
              await rm(this.tableDir(db, name), { recursive: true, force: true });
            }
          }
          return { Errors };
        });
      case 'CreatePartition':
        return this.serialize(async () => {
          const { db, name, t } = this.tableFor(input);
          const p = this.newPartition(db, name, t.table, obj<Json>(input, 'PartitionInput'));
          if (t.partitions.has(pkey(p.Values))) throw glueErrors.alreadyExists(`Partition (${p.Values.join(', ')})`);
          t.partitions.set(pkey(p.Values), p);
          await this.saveTable(db, name, true);
          return {};
        });
      case 'BatchCreatePartition':
        return this.serialize(async () => {
          const { db, name, t } = this.tableFor(input);
          const list = (input.PartitionInputList as Json[] | undefined) ?? [];
          if (list.length > 100) throw glueErrors.invalidInput(`1 validation error detected: Value at 'partitionInputList' failed to satisfy constraint: Member must have length less than or equal to 100 (got ${list.length})`);
          const Errors: Json[] = [];
          for (const pi of list) {
            try {
              const p = this.newPartition(db, name, t.table, pi);
              if (t.partitions.has(pkey(p.Values))) throw glueErrors.alreadyExists(`Partition (${p.Values.join(', ')})`);
              t.partitions.set(pkey(p.Values), p);
            } catch (e) {
              if (!(e instanceof AwsJsonError)) throw e;
              Errors.push({ PartitionValues: pi.Values, ErrorDetail: { ErrorCode: e.type, ErrorMessage: e.message } });
            }
          }
          await this.saveTable(db, name, true);
          return { Errors };
        });
      case 'GetPartition': {
        const { t } = this.tableFor(input);
        const values = input.PartitionValues as string[];
        const p = t.partitions.get(pkey(values ?? []));
        if (!p) throw glueErrors.notFound(`Partition (${(values ?? []).join(', ')})`);
        return { Partition: p };
      }
      case 'GetPartitions': {
        const { t } = this.tableFor(input);
        let parts = [...t.partitions.values()];
        if (typeof input.Expression === 'string' && input.Expression.trim()) {
          const pred = compilePartitionExpression(input.Expression, t.table.PartitionKeys ?? []);
          parts = parts.filter((p) => pred(p.Values));
        }
        const p = page(parts, input, 1000);
        const items = input.ExcludeColumnSchema ? p.items.map((x) => ({ ...x, StorageDescriptor: { ...x.StorageDescriptor, Columns: [] } })) : p.items;
        return { Partitions: items, NextToken: p.NextToken };
      }
      case 'BatchGetPartition': {
        const { t } = this.tableFor(input);
        const want = (input.PartitionsToGet as Array<{ Values: string[] }>) ?? [];
        if (want.length > 1000) throw glueErrors.invalidInput('PartitionsToGet takes at most 1000 entries');
        const Partitions = want.map((w) => t.partitions.get(pkey(w.Values))).filter((p): p is GluePartition => !!p);
        return { Partitions, UnprocessedKeys: [] };
      }
      case 'UpdatePartition':
        return this.serialize(async () => {
          const { db, name, t } = this.tableFor(input);
          const values = (input.PartitionValueList as string[]) ?? [];
          const cur = t.partitions.get(pkey(values));
          if (!cur) throw glueErrors.notFound(`Partition (${values.join(', ')})`);
          const next = this.newPartition(db, name, t.table, obj<Json>(input, 'PartitionInput'));
          next.CreationTime = cur.CreationTime;
          t.partitions.delete(pkey(values));
          t.partitions.set(pkey(next.Values), next);
          await this.saveTable(db, name, true);
          return {};
        });
      case 'DeletePartition':
        return this.serialize(async () => {
          const { db, name, t } = this.tableFor(input);
          const values = (input.PartitionValues as string[]) ?? [];
          if (!t.partitions.delete(pkey(values))) throw glueErrors.notFound(`Partition (${values.join(', ')})`);
          await this.saveTable(db, name, true);
          return {};
        });
      case 'BatchDeletePartition':
        return this.serialize(async () => {
          const { db, name, t } = this.tableFor(input);
          const list = (input.PartitionsToDelete as Array<{ Values: string[] }>) ?? [];
          if (list.length > 25) throw glueErrors.invalidInput(`1 validation error detected: Value at 'partitionsToDelete' failed to satisfy constraint: Member must have length less than or equal to 25 (got ${list.length})`);
          const Errors: Json[] = [];
          for (const w of list) {
            if (!t.partitions.delete(pkey(w.Values))) {
              Errors.push({ PartitionValues: w.Values, ErrorDetail: { ErrorCode: 'EntityNotFoundException', ErrorMessage: `Partition (${w.Values.join(', ')}) not found.` } });
            }
          }
          await this.saveTable(db, name, true);
          return { Errors };
        });
      default:
        throw new AwsJsonError(
          'UnsupportedOperationException',
          `Glue operation ${op} is not implemented by the Lakeloader local endpoint (supported: databases, tables, partitions; see docs/local-endpoint.md)`,
        );
    }
  }

  private requireDb(name: string): DatabaseState {
    const d = this.dbs.get(name.toLowerCase());
    if (!d) throw glueErrors.notFound(`Database ${name}`);
    return d;
  }

  private requireTable(db: string, name: string) {
    const d = this.requireDb(db);
    const t = d.tables.get(name.toLowerCase());
    if (!t) throw glueErrors.notFound(`Table ${name}`);
    return t;
  }

  private tableFor(input: Json) {
    const db = str(input, 'DatabaseName').toLowerCase();
    const name = str(input, 'TableName').toLowerCase();
    return { db, name, t: this.requireTable(db, name) };
  }

  private newPartition(db: string, table: string, t: GlueTable, pi: Json): GluePartition {
    const values = pi.Values;
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) throw glueErrors.invalidInput('PartitionInput.Values must be a list of strings');
    const keys = t.PartitionKeys ?? [];
    if (values.length !== keys.length) {
      throw glueErrors.invalidInput(`The number of partition values (${values.length}) does not match the number of partition keys (${keys.length}: ${keys.map((k) => k.Name).join(', ')}) of table ${table}`);
    }
    return { ...pi, Values: values as string[], DatabaseName: db, TableName: table, CreationTime: now(), CatalogId: CATALOG_ID };
  }

  private async createDatabase(input: Json): Promise<Json> {
    const di = obj<Json>(input, 'DatabaseInput');
    const name = str(di, 'Name').toLowerCase();
    if (this.dbs.has(name)) throw glueErrors.alreadyExists(`Database ${name}`);
    this.dbs.set(name, { db: { ...di, Name: name, CreateTime: now(), CatalogId: CATALOG_ID }, tables: new Map() });
    await this.saveDb(name);
    return {};
  }

  private async createTable(input: Json): Promise<Json> {
    const db = str(input, 'DatabaseName').toLowerCase();
    const d = this.requireDb(db);
    const ti = obj<Json>(input, 'TableInput');
    const name = str(ti, 'Name').toLowerCase();
    if (d.tables.has(name)) throw glueErrors.alreadyExists(`Table ${name}`);
    const t = Date.now() / 1000;
    const table: GlueTable = { ...ti, Name: name, DatabaseName: db, CreateTime: t, UpdateTime: t, VersionId: '0', CatalogId: CATALOG_ID, IsRegisteredWithLakeFormation: false };
    d.tables.set(name, { table, partitions: new Map() });
    await this.saveTable(db, name, true);
    return {};
  }

  private async updateTable(input: Json): Promise<Json> {
    const db = str(input, 'DatabaseName').toLowerCase();
    const ti = obj<Json>(input, 'TableInput');
    const name = str(ti, 'Name').toLowerCase();
    const t = this.requireTable(db, name);
    if (input.VersionId !== undefined && String(input.VersionId) !== t.table.VersionId) {
      throw new AwsJsonError(
        'ConcurrentModificationException',
        `Table ${name} was modified concurrently: VersionId ${String(input.VersionId)} is stale, the current VersionId is ${t.table.VersionId}; re-read the table with GetTable and retry`,
      );
    }
    t.table = {
      ...ti,
      Name: name,
      DatabaseName: db,
      CreateTime: t.table.CreateTime,
      UpdateTime: Date.now() / 1000,
      VersionId: String(Number(t.table.VersionId) + 1),
      CatalogId: CATALOG_ID,
      IsRegisteredWithLakeFormation: false,
    };
    await this.saveTable(db, name, false);
    return {};
  }
}

/** A catalog name as one safe file name: anything but `[a-z0-9_-]` is %-encoded (so `.`/`..` cannot escape). */
function safeFileName(name: string): string {
  return name.replace(/[^a-z0-9_-]/g, (c) => `%${c.codePointAt(0)!.toString(16).toUpperCase().padStart(2, '0')}`);
}

// ---- partition expressions ----

type Token = { kind: 'id' | 'str' | 'num' | 'op' | 'lp' | 'rp' | 'comma'; text: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw glueErrors.invalidInput(`Unterminated string literal in partition expression: ${src}`);
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += src[i++];
      }
      out.push({ kind: 'str', text: s });
    } else if (c === '`' || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw glueErrors.invalidInput(`Unterminated quoted identifier in partition expression: ${src}`);
      out.push({ kind: 'id', text: src.slice(i + 1, end).toLowerCase() });
      i = end + 1;
    } else if (/[0-9-]/.test(c) && /^-?\d+(\.\d+)?/.test(src.slice(i))) {
      const m = /^-?\d+(\.\d+)?/.exec(src.slice(i))!;
      out.push({ kind: 'num', text: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      out.push({ kind: 'id', text: m[0].toLowerCase() });
      i += m[0].length;
    } else if (c === '(') {
      out.push({ kind: 'lp', text: c });
      i++;
    } else if (c === ')') {
      out.push({ kind: 'rp', text: c });
      i++;
    } else if (c === ',') {
      out.push({ kind: 'comma', text: c });
      i++;
    } else {
      const m = /^(<=|>=|<>|!=|=|<|>)/.exec(src.slice(i));
      if (!m) throw glueErrors.invalidInput(`Unsupported character "${c}" in partition expression: ${src}`);
      out.push({ kind: 'op', text: m[0] });
      i += m[0].length;
    }
  }
  return out;
}

type Pred = (values: string[]) => boolean;
const NUMERIC = /^(tinyint|smallint|int|integer|bigint|long|float|double|decimal.*)$/i;

/**
 * Compiles a Glue partition expression (`dt = '2026-01-01' AND hour >= '03'`, `OR`, `NOT`,
 * parentheses, `=, <>, !=, <, <=, >, >=`, `IN (...)`, `BETWEEN a AND b`, `LIKE`, `IS [NOT] NULL`)
 * into a predicate over a partition's values. Numeric partition keys compare numerically.
 * @throws AwsJsonError InvalidInputException for an unknown key or a syntax error.
 */
export function compilePartitionExpression(src: string, keys: GlueColumn[]): Pred {
  const toks = tokenize(src);
  let pos = 0;
  const peek = () => toks[pos];
  const isWord = (w: string) => peek()?.kind === 'id' && peek()!.text === w;
  const fail = (what: string): never => {
    throw glueErrors.invalidInput(`Unsupported partition expression "${src}": ${what} at token ${pos + 1}`);
  };
  const value = (): string => {
    const t = toks[pos++];
    if (!t || (t.kind !== 'str' && t.kind !== 'num')) return fail('expected a literal');
    return t.text;
  };
  const primary = (): Pred => {
    if (peek()?.kind === 'lp') {
      pos++;
      const e = or();
      if (toks[pos++]?.kind !== 'rp') fail('expected ")"');
      return e;
    }
    const t = toks[pos++];
    if (!t || t.kind !== 'id') return fail('expected a partition key');
    const idx = keys.findIndex((k) => k.Name.toLowerCase() === t.text);
    if (idx < 0) throw glueErrors.invalidInput(`Unknown partition key "${t.text}" in expression "${src}"; partition keys: ${keys.map((k) => k.Name).join(', ')}`);
    const numeric = NUMERIC.test(keys[idx]!.Type ?? 'string');
    const cmp = (a: string, b: string) => (numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0);
    let negate = false;
    if (isWord('not')) {
      pos++;
      negate = true;
    }
    if (isWord('in')) {
      pos++;
      if (toks[pos++]?.kind !== 'lp') fail('expected "(" after IN');
      const list: string[] = [value()];
      while (peek()?.kind === 'comma') {
        pos++;
        list.push(value());
      }
      if (toks[pos++]?.kind !== 'rp') fail('expected ")"');
      return (v) => list.some((x) => cmp(v[idx]!, x) === 0) !== negate;
    }
    if (isWord('between')) {
      pos++;
      const lo = value();
      if (!isWord('and')) fail('expected AND in BETWEEN');
      pos++;
      const hi = value();
      return (v) => (cmp(v[idx]!, lo) >= 0 && cmp(v[idx]!, hi) <= 0) !== negate;
    }
    if (isWord('like')) {
      pos++;
      const pat = value();
      const re = new RegExp(`^${pat.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.')}$`, 's');
      return (v) => re.test(v[idx]!) !== negate;
    }
    if (isWord('is')) {
      pos++;
      let not = false;
      if (isWord('not')) {
        pos++;
        not = true;
      }
      if (!isWord('null')) fail('expected NULL');
      pos++;
      return (v) => (v[idx] === '__HIVE_DEFAULT_PARTITION__') !== not;
    }
    if (negate) fail('expected IN, BETWEEN or LIKE after NOT');
    const op = toks[pos++];
    if (!op || op.kind !== 'op') return fail('expected a comparison operator');
    const rhs = value();
    switch (op.text) {
      case '=':
        return (v) => cmp(v[idx]!, rhs) === 0;
      case '<>':
      case '!=':
        return (v) => cmp(v[idx]!, rhs) !== 0;
      case '<':
        return (v) => cmp(v[idx]!, rhs) < 0;
      case '<=':
        return (v) => cmp(v[idx]!, rhs) <= 0;
      case '>':
        return (v) => cmp(v[idx]!, rhs) > 0;
      default:
        return (v) => cmp(v[idx]!, rhs) >= 0;
    }
  };
  const not = (): Pred => {
    if (isWord('not')) {
      pos++;
      const e = not();
      return (v) => !e(v);
    }
    return primary();
  };
  const and = (): Pred => {
    let e = not();
    while (isWord('and')) {
      pos++;
      const l = e;
      const r = not();
      e = (v) => l(v) && r(v);
    }
    return e;
  };
  function or(): Pred {
    let e = and();
    while (isWord('or')) {
      pos++;
      const l = e;
      const r = and();
      e = (v) => l(v) || r(v);
    }
    return e;
  }
  const pred = or();
  if (pos !== toks.length) fail('unexpected trailing text');
  return pred;
}
