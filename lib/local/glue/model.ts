/**
 * The local Glue catalog's state: databases, tables with their archived versions, and
 * partitions, held in memory and persisted as JSON under `<dataDir>/glue/` after every change:
 *
 * ```
 * glue/<db>/database.json
 * glue/<db>/tables/<table>/table.json        the current version
 * glue/<db>/tables/<table>/versions.json     earlier versions kept by UpdateTable
 * glue/<db>/tables/<table>/partitions.json
 * glue/tags.json                             resource tags by ARN
 * ```
 *
 * Names become file names with anything but `[a-z0-9_-]` %-encoded, so no name escapes the
 * directory. Mutations are serialized by the caller ({@link GlueState.serialize}).
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { glueErrors } from '../errors';
import { atomicWrite } from '../store';

export type Json = Record<string, unknown>;

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

/** A table with its archived versions (oldest first) and partitions. */
export interface TableState {
  table: GlueTable;
  versions: GlueTable[];
  partitions: Map<string, GluePartition>;
}

export interface DatabaseState {
  db: Json & { Name: string; CreateTime: number };
  tables: Map<string, TableState>;
}

/** The catalog id the endpoint reports (the account id). */
export const CATALOG_ID = '000000000000';
/** Glue times are epoch seconds. */
export const now = () => Date.now() / 1000;
/** Map key of a partition's values. */
export const pkey = (values: string[]) => JSON.stringify(values);

/** A catalog name as one safe file name: anything but `[a-z0-9_-]` is %-encoded (so `.`/`..` cannot escape). */
export function safeFileName(name: string): string {
  return name.replace(/[^a-z0-9_-]/g, (c) => `%${c.codePointAt(0)!.toString(16).toUpperCase().padStart(2, '0')}`);
}

/** The catalog's state and its persistence. */
export class GlueState {
  readonly dbs = new Map<string, DatabaseState>();
  /** Resource tags by ARN. */
  tags = new Map<string, Record<string, string>>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(readonly root: string) {}

  /** Loads what `<root>` holds (a missing directory is an empty catalog). */
  async load(): Promise<void> {
    let dbDirs: string[];
    try {
      dbDirs = await readdir(this.root);
    } catch {
      return;
    }
    try {
      this.tags = new Map(Object.entries(JSON.parse(await readFile(join(this.root, 'tags.json'), 'utf8')) as Record<string, Record<string, string>>));
    } catch {
      // no tags yet
    }
    for (const d of dbDirs) {
      if (d === '.tmp' || d === 'tags.json') continue;
      let db: DatabaseState['db'];
      try {
        db = JSON.parse(await readFile(join(this.root, d, 'database.json'), 'utf8'));
      } catch {
        continue;
      }
      const state: DatabaseState = { db, tables: new Map() };
      for (const t of await readdir(join(this.root, d, 'tables')).catch(() => [] as string[])) {
        const dir = join(this.root, d, 'tables', t);
        try {
          const table = JSON.parse(await readFile(join(dir, 'table.json'), 'utf8')) as GlueTable;
          const parts = JSON.parse(await readFile(join(dir, 'partitions.json'), 'utf8').catch(() => '[]')) as GluePartition[];
          const versions = JSON.parse(await readFile(join(dir, 'versions.json'), 'utf8').catch(() => '[]')) as GlueTable[];
          state.tables.set(table.Name, { table, versions, partitions: new Map(parts.map((p) => [pkey(p.Values), p])) });
        } catch {
          continue;
        }
      }
      this.dbs.set(db.Name, state);
    }
  }

  /** Runs mutations one at a time (a failed one does not block the next). */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  dbDir(db: string): string {
    return join(this.root, safeFileName(db));
  }

  tableDir(db: string, table: string): string {
    return join(this.dbDir(db), 'tables', safeFileName(table));
  }

  private get tmp(): string {
    return join(this.root, '.tmp');
  }

  async saveDb(db: string): Promise<void> {
    await atomicWrite(this.tmp, join(this.dbDir(db), 'database.json'), JSON.stringify(this.dbs.get(db)!.db));
  }

  /** Persists a table; `what` picks the files that changed. */
  async saveTable(db: string, table: string, what: { partitions?: boolean; versions?: boolean } = {}): Promise<void> {
    const t = this.dbs.get(db)!.tables.get(table)!;
    const dir = this.tableDir(db, table);
    await atomicWrite(this.tmp, join(dir, 'table.json'), JSON.stringify(t.table));
    if (what.partitions) await atomicWrite(this.tmp, join(dir, 'partitions.json'), JSON.stringify([...t.partitions.values()]));
    if (what.versions) await atomicWrite(this.tmp, join(dir, 'versions.json'), JSON.stringify(t.versions));
  }

  async removeDb(db: string): Promise<void> {
    this.dbs.delete(db);
    await rm(this.dbDir(db), { recursive: true, force: true });
    await this.dropTags((k) => k === `database/${db}` || k.startsWith(`table/${db}/`));
  }

  async removeTable(db: string, table: string): Promise<void> {
    this.dbs.get(db)?.tables.delete(table);
    await rm(this.tableDir(db, table), { recursive: true, force: true });
    await this.dropTags((k) => k === `table/${db}/${table}`);
  }

  private async dropTags(match: (key: string) => boolean): Promise<void> {
    const gone = [...this.tags.keys()].filter(match);
    for (const k of gone) this.tags.delete(k);
    if (gone.length) await this.saveTags();
  }

  async saveTags(): Promise<void> {
    await atomicWrite(this.tmp, join(this.root, 'tags.json'), JSON.stringify(Object.fromEntries(this.tags)));
  }

  /**
   * A database by name (case-insensitive).
   * @throws EntityNotFoundException
   */
  requireDb(name: string): DatabaseState {
    const d = this.dbs.get(name.toLowerCase());
    if (!d) throw glueErrors.notFound(`Database ${name}`);
    return d;
  }

  /**
   * A table by database and name (case-insensitive).
   * @throws EntityNotFoundException
   */
  requireTable(db: string, name: string): TableState {
    const d = this.requireDb(db);
    const t = d.tables.get(name.toLowerCase());
    if (!t) throw glueErrors.notFound(`Table ${name}`);
    return t;
  }
}

/** One Glue operation: reads the JSON input, returns the JSON output (or throws an AwsJsonError). */
export type GlueAction = (state: GlueState, input: Json) => unknown | Promise<unknown>;

/** Wraps an action that changes the catalog so that it runs serialized with the other changes. */
export const mutation =
  (fn: (state: GlueState, input: Json) => Promise<unknown>): GlueAction =>
  (state, input) =>
    state.serialize(() => fn(state, input));
