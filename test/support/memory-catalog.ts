/**
 * An in-memory Glue double implementing {@link Catalog}: partitions per database.table, with
 * BatchCreatePartition's semantics (existing partitions are reported, not errors) and a hook to
 * reject chosen partitions the way Glue rejects an entry.
 */
import type { PartitionInput, TableInput } from '@aws-sdk/client-glue';
import { CatalogError, CommitConflictError, TableExistsError, type Catalog, type CatalogTable, type RegisterResult, type TableCatalog } from '../../lambdas/core/catalog';

export class MemoryCatalog implements Catalog, TableCatalog {
  /** `database.table` → the table input and its version (incremented by every update, as Glue's VersionId). */
  readonly tables = new Map<string, { input: TableInput; version: number }>();

  async getTable(database: string, table: string): Promise<CatalogTable | null> {
    const t = this.tables.get(`${database}.${table}`);
    return t ? { input: structuredClone(t.input), versionId: String(t.version) } : null;
  }

  async createTable(database: string, input: TableInput): Promise<void> {
    const k = `${database}.${input.Name}`;
    if (this.tables.has(k)) throw new TableExistsError(`table ${k} exists already`);
    this.tables.set(k, { input: structuredClone(input), version: 1 });
  }

  async updateTable(database: string, input: TableInput, versionId: string | undefined): Promise<void> {
    const k = `${database}.${input.Name}`;
    const t = this.tables.get(k);
    if (!t) throw new CatalogError(`table ${k} does not exist`);
    if (versionId !== undefined && versionId !== String(t.version)) throw new CommitConflictError(`table ${k} is at version ${t.version}, not ${versionId}`);
    this.tables.set(k, { input: structuredClone(input), version: t.version + 1 });
  }

  /** `database.table` → partition values (JSON) → location. */
  readonly partitions = new Map<string, Map<string, string>>();
  /** Each call's partition count, to check batching and caching. */
  readonly calls: number[] = [];
  /** Return an error message to reject a partition entry (like a Glue per-entry error). */
  rejectEntry?: (values: string[]) => string | undefined;

  async registerPartitions(database: string, table: string, partitions: PartitionInput[]): Promise<RegisterResult> {
    this.calls.push(partitions.length);
    const t = `${database}.${table}`;
    let map = this.partitions.get(t);
    if (!map) this.partitions.set(t, (map = new Map()));
    const result: RegisterResult = { created: 0, existing: 0 };
    for (const p of partitions) {
      const values = p.Values ?? [];
      const reason = this.rejectEntry?.(values);
      if (reason) throw new CatalogError(`Glue BatchCreatePartition on ${t} rejected partition [${values.join(', ')}]: ${reason}`);
      const k = JSON.stringify(values);
      if (map.has(k)) result.existing++;
      else {
        map.set(k, p.StorageDescriptor?.Location ?? '');
        result.created++;
      }
    }
    return result;
  }

  /** Registered partition values of a table, sorted. */
  list(database: string, table: string): string[][] {
    return [...(this.partitions.get(`${database}.${table}`)?.keys() ?? [])].sort().map((k) => JSON.parse(k) as string[]);
  }

  /** Registered partition locations of a table. */
  locations(database: string, table: string): string[] {
    return [...(this.partitions.get(`${database}.${table}`)?.values() ?? [])].sort();
  }
}
