/** Glue database operations: Create, Get, GetDatabases, Update, Delete. */
import { glueErrors } from '../errors';
import { str, obj, page } from './input';
import { CATALOG_ID, mutation, now, type GlueAction, type Json } from './model';

export const databaseActions: Record<string, GlueAction> = {
  CreateDatabase: mutation(async (s, input) => {
    const di = obj<Json>(input, 'DatabaseInput');
    const name = str(di, 'Name').toLowerCase();
    if (s.dbs.has(name)) throw glueErrors.alreadyExists(`Database ${name}`);
    s.dbs.set(name, { db: { ...di, Name: name, CreateTime: now(), CatalogId: CATALOG_ID }, tables: new Map() });
    await s.saveDb(name);
    if (input.Tags && typeof input.Tags === 'object') {
      s.tags.set(`database/${name}`, { ...(input.Tags as Record<string, string>) });
      await s.saveTags();
    }
    return {};
  }),

  GetDatabase: (s, input) => ({ Database: s.requireDb(str(input, 'Name')).db }),

  GetDatabases: (s, input) => {
    const p = page([...s.dbs.values()].map((d) => d.db), input, 100, 100);
    return { DatabaseList: p.items, NextToken: p.NextToken };
  },

  UpdateDatabase: mutation(async (s, input) => {
    const d = s.requireDb(str(input, 'Name'));
    d.db = { ...d.db, ...obj<Json>(input, 'DatabaseInput'), Name: d.db.Name, CreateTime: d.db.CreateTime };
    await s.saveDb(d.db.Name);
    return {};
  }),

  DeleteDatabase: mutation(async (s, input) => {
    const name = str(input, 'Name').toLowerCase();
    s.requireDb(name);
    await s.removeDb(name);
    return {};
  }),
};
