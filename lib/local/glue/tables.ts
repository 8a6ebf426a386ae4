/**
 * Glue table operations: Create, Get, GetTables, SearchTables, Update (with `VersionId` optimistic
 * locking; the replaced version is archived unless `SkipArchive`), Delete, BatchDeleteTable, and
 * the table versions: GetTableVersions, GetTableVersion, DeleteTableVersion, BatchDeleteTableVersion.
 */
import { AwsJsonError, glueErrors } from '../errors';
import { list, obj, page, str } from './input';
import { CATALOG_ID, mutation, now, type GlueAction, type GlueState, type GlueTable, type Json, type TableState } from './model';

const tableOf = (s: GlueState, input: Json, nameField: 'Name' | 'TableName') => {
  const db = str(input, 'DatabaseName').toLowerCase();
  const name = str(input, nameField).toLowerCase();
  return { db, name, t: s.requireTable(db, name) };
};

/** Every version of a table, newest first (the current one included). */
const allVersions = (t: TableState): GlueTable[] => [t.table, ...[...t.versions].reverse()];

const versionNotFound = (table: string, id: string) => new AwsJsonError('EntityNotFoundException', `Version ${id} of table ${table} not found.`);

function checkVersionId(id: string): void {
  if (!/^\d+$/.test(id)) throw glueErrors.invalidInput(`VersionId must be the string form of a non-negative integer, got "${id}"`);
}

/** Removes one archived version; the current version cannot be deleted. */
function deleteVersion(t: TableState, name: string, id: string): void {
  checkVersionId(id);
  if (id === t.table.VersionId) throw glueErrors.invalidInput(`Cannot delete the current version ${id} of table ${name}; update the table first`);
  const i = t.versions.findIndex((v) => v.VersionId === id);
  if (i < 0) throw versionNotFound(name, id);
  t.versions.splice(i, 1);
}

export const tableActions: Record<string, GlueAction> = {
  CreateTable: mutation(async (s, input) => {
    const db = str(input, 'DatabaseName').toLowerCase();
    const d = s.requireDb(db);
    const ti = obj<Json>(input, 'TableInput');
    const name = str(ti, 'Name').toLowerCase();
    if (d.tables.has(name)) throw glueErrors.alreadyExists(`Table ${name}`);
    const t = now();
    const table: GlueTable = { ...ti, Name: name, DatabaseName: db, CreateTime: t, UpdateTime: t, VersionId: '0', CatalogId: CATALOG_ID, IsRegisteredWithLakeFormation: false };
    d.tables.set(name, { table, versions: [], partitions: new Map() });
    await s.saveTable(db, name, { partitions: true, versions: true });
    return {};
  }),

  GetTable: (s, input) => ({ Table: tableOf(s, input, 'Name').t.table }),

  GetTables: (s, input) => {
    const d = s.requireDb(str(input, 'DatabaseName'));
    let tables = [...d.tables.values()].map((t) => t.table);
    if (typeof input.Expression === 'string' && input.Expression) {
      const re = new RegExp(`^(?:${input.Expression.replace(/\*/g, '.*')})$`, 'i');
      tables = tables.filter((t) => re.test(t.Name));
    }
    const p = page(tables, input, 100, 100);
    return { TableList: p.items, NextToken: p.NextToken };
  },

  SearchTables: (s, input) => {
    const text = typeof input.SearchText === 'string' ? input.SearchText.toLowerCase() : '';
    const tables = [...s.dbs.values()].flatMap((d) => [...d.tables.values()].map((t) => t.table))
      .filter((t) => !text || t.Name.includes(text) || t.DatabaseName.includes(text) || String(t.Description ?? '').toLowerCase().includes(text));
    const p = page(tables, input, 100, 1000);
    return { TableList: p.items, NextToken: p.NextToken };
  },

  UpdateTable: mutation(async (s, input) => {
    const db = str(input, 'DatabaseName').toLowerCase();
    const ti = obj<Json>(input, 'TableInput');
    const name = str(ti, 'Name').toLowerCase();
    const t = s.requireTable(db, name);
    if (input.VersionId !== undefined && String(input.VersionId) !== t.table.VersionId) {
      throw new AwsJsonError(
        'ConcurrentModificationException',
        `Table ${name} was modified concurrently: VersionId ${String(input.VersionId)} is stale, the current VersionId is ${t.table.VersionId}; re-read the table with GetTable and retry`,
      );
    }
    const archive = input.SkipArchive !== true;
    if (archive) t.versions.push(t.table);
    t.table = {
      ...ti,
      Name: name,
      DatabaseName: db,
      CreateTime: t.table.CreateTime,
      UpdateTime: now(),
      VersionId: String(Number(t.table.VersionId) + 1),
      CatalogId: CATALOG_ID,
      IsRegisteredWithLakeFormation: false,
    };
    await s.saveTable(db, name, { versions: archive });
    return {};
  }),

  DeleteTable: mutation(async (s, input) => {
    const { db, name } = tableOf(s, input, 'Name');
    await s.removeTable(db, name);
    return {};
  }),

  BatchDeleteTable: mutation(async (s, input) => {
    const db = str(input, 'DatabaseName').toLowerCase();
    const d = s.requireDb(db);
    const Errors: Json[] = [];
    for (const n of list<string>(input, 'TablesToDelete', 100)) {
      const name = String(n).toLowerCase();
      if (!d.tables.has(name)) Errors.push({ TableName: n, ErrorDetail: { ErrorCode: 'EntityNotFoundException', ErrorMessage: `Table ${n} not found.` } });
      else await s.removeTable(db, name);
    }
    return { Errors };
  }),

  GetTableVersions: (s, input) => {
    const { t } = tableOf(s, input, 'TableName');
    const p = page(allVersions(t), input, 100, 100);
    return { TableVersions: p.items.map((v) => ({ Table: v, VersionId: v.VersionId })), NextToken: p.NextToken };
  },

  GetTableVersion: (s, input) => {
    const { t, name } = tableOf(s, input, 'TableName');
    const id = input.VersionId === undefined ? t.table.VersionId : String(input.VersionId);
    checkVersionId(id);
    const v = allVersions(t).find((x) => x.VersionId === id);
    if (!v) throw versionNotFound(name, id);
    return { TableVersion: { Table: v, VersionId: v.VersionId } };
  },

  DeleteTableVersion: mutation(async (s, input) => {
    const { db, name, t } = tableOf(s, input, 'TableName');
    deleteVersion(t, name, str(input, 'VersionId'));
    await s.saveTable(db, name, { versions: true });
    return {};
  }),

  BatchDeleteTableVersion: mutation(async (s, input) => {
    const { db, name, t } = tableOf(s, input, 'TableName');
    const Errors: Json[] = [];
    for (const id of list<string>(input, 'VersionIds', 100)) {
      try {
        deleteVersion(t, name, String(id));
      } catch (e) {
        if (!(e instanceof AwsJsonError)) throw e;
        Errors.push({ TableName: name, VersionId: id, ErrorDetail: { ErrorCode: e.type, ErrorMessage: e.message } });
      }
    }
    await s.saveTable(db, name, { versions: true });
    return { Errors };
  }),
};
