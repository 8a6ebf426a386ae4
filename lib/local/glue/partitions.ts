/**
 * Glue partition operations: Create, BatchCreate (≤ 100, per-entry errors), Get, GetPartitions
 * (paging, `Expression`), BatchGet (≤ 1000), Update, BatchUpdate (≤ 100), Delete, BatchDelete
 * (≤ 25), and GetPartitionIndexes (none are kept).
 */
import { AwsJsonError, glueErrors } from '../errors';
import { compilePartitionExpression } from './expression';
import { list, obj, page, str } from './input';
import { CATALOG_ID, mutation, now, pkey, type GlueAction, type GluePartition, type GlueState, type GlueTable, type Json } from './model';

const tableFor = (s: GlueState, input: Json) => {
  const db = str(input, 'DatabaseName').toLowerCase();
  const name = str(input, 'TableName').toLowerCase();
  return { db, name, t: s.requireTable(db, name) };
};

function newPartition(db: string, table: string, t: GlueTable, pi: Json): GluePartition {
  const values = pi.Values;
  if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) throw glueErrors.invalidInput('PartitionInput.Values must be a list of strings');
  const keys = t.PartitionKeys ?? [];
  if (values.length !== keys.length) {
    throw glueErrors.invalidInput(`The number of partition values (${values.length}) does not match the number of partition keys (${keys.length}: ${keys.map((k) => k.Name).join(', ')}) of table ${table}`);
  }
  return { ...pi, Values: values as string[], DatabaseName: db, TableName: table, CreationTime: now(), CatalogId: CATALOG_ID };
}

const errorEntry = (values: unknown, e: AwsJsonError) => ({ PartitionValues: values, ErrorDetail: { ErrorCode: e.type, ErrorMessage: e.message } });
const partitionNotFound = (values: string[]) => glueErrors.notFound(`Partition (${values.join(', ')})`);

/** Replaces the partition `values` with one built from `pi` (keeping its creation time). */
function updateOne(db: string, name: string, t: ReturnType<typeof tableFor>['t'], values: string[], pi: Json): void {
  const cur = t.partitions.get(pkey(values));
  if (!cur) throw partitionNotFound(values);
  const next = newPartition(db, name, t.table, pi);
  next.CreationTime = cur.CreationTime;
  t.partitions.delete(pkey(values));
  t.partitions.set(pkey(next.Values), next);
}

export const partitionActions: Record<string, GlueAction> = {
  CreatePartition: mutation(async (s, input) => {
    const { db, name, t } = tableFor(s, input);
    const p = newPartition(db, name, t.table, obj<Json>(input, 'PartitionInput'));
    if (t.partitions.has(pkey(p.Values))) throw glueErrors.alreadyExists(`Partition (${p.Values.join(', ')})`);
    t.partitions.set(pkey(p.Values), p);
    await s.saveTable(db, name, { partitions: true });
    return {};
  }),

  BatchCreatePartition: mutation(async (s, input) => {
    const { db, name, t } = tableFor(s, input);
    const entries = list<Json>(input, 'PartitionInputList', 100);
    const Errors: Json[] = [];
    for (const pi of entries) {
      try {
        const p = newPartition(db, name, t.table, pi);
        if (t.partitions.has(pkey(p.Values))) throw glueErrors.alreadyExists(`Partition (${p.Values.join(', ')})`);
        t.partitions.set(pkey(p.Values), p);
      } catch (e) {
        if (!(e instanceof AwsJsonError)) throw e;
        Errors.push(errorEntry(pi.Values, e));
      }
    }
    await s.saveTable(db, name, { partitions: true });
    return { Errors };
  }),

  GetPartition: (s, input) => {
    const { t } = tableFor(s, input);
    const values = (input.PartitionValues as string[] | undefined) ?? [];
    const p = t.partitions.get(pkey(values));
    if (!p) throw partitionNotFound(values);
    return { Partition: p };
  },

  GetPartitions: (s, input) => {
    const { t } = tableFor(s, input);
    let parts = [...t.partitions.values()];
    if (typeof input.Expression === 'string' && input.Expression.trim()) {
      const pred = compilePartitionExpression(input.Expression, t.table.PartitionKeys ?? []);
      parts = parts.filter((p) => pred(p.Values));
    }
    const p = page(parts, input, 1000);
    const items = input.ExcludeColumnSchema ? p.items.map((x) => ({ ...x, StorageDescriptor: { ...x.StorageDescriptor, Columns: [] } })) : p.items;
    return { Partitions: items, NextToken: p.NextToken };
  },

  BatchGetPartition: (s, input) => {
    const { t } = tableFor(s, input);
    const want = list<{ Values: string[] }>(input, 'PartitionsToGet', 1000);
    const Partitions = want.map((w) => t.partitions.get(pkey(w.Values))).filter((p): p is GluePartition => !!p);
    return { Partitions, UnprocessedKeys: [] };
  },

  UpdatePartition: mutation(async (s, input) => {
    const { db, name, t } = tableFor(s, input);
    updateOne(db, name, t, (input.PartitionValueList as string[] | undefined) ?? [], obj<Json>(input, 'PartitionInput'));
    await s.saveTable(db, name, { partitions: true });
    return {};
  }),

  BatchUpdatePartition: mutation(async (s, input) => {
    const { db, name, t } = tableFor(s, input);
    const Errors: Json[] = [];
    for (const entry of list<Json>(input, 'Entries', 100)) {
      const values = (entry.PartitionValueList as string[] | undefined) ?? [];
      try {
        updateOne(db, name, t, values, obj<Json>(entry, 'PartitionInput'));
      } catch (e) {
        if (!(e instanceof AwsJsonError)) throw e;
        Errors.push({ PartitionValueList: values, ErrorDetail: { ErrorCode: e.type, ErrorMessage: e.message } });
      }
    }
    await s.saveTable(db, name, { partitions: true });
    return { Errors };
  }),

  DeletePartition: mutation(async (s, input) => {
    const { db, name, t } = tableFor(s, input);
    const values = (input.PartitionValues as string[] | undefined) ?? [];
    if (!t.partitions.delete(pkey(values))) throw partitionNotFound(values);
    await s.saveTable(db, name, { partitions: true });
    return {};
  }),

  BatchDeletePartition: mutation(async (s, input) => {
    const { db, name, t } = tableFor(s, input);
    const entries = list<{ Values: string[] }>(input, 'PartitionsToDelete', 25);
    const Errors: Json[] = [];
    for (const w of entries) {
      if (!t.partitions.delete(pkey(w.Values))) Errors.push(errorEntry(w.Values, partitionNotFound(w.Values)));
    }
    await s.saveTable(db, name, { partitions: true });
    return { Errors };
  }),

  GetPartitionIndexes: (s, input) => {
    tableFor(s, input);
    return { PartitionIndexDescriptorList: [] };
  },
};
