/**
 * Partition registration in the Glue Data Catalog: the {@link Catalog} interface the loader
 * calls, its production implementation over the AWS SDK v3 Glue client, and the warm-container
 * cache of partitions already known to exist.
 *
 * Athena only sees partitions that are registered (unless the table uses partition projection),
 * so the loader registers a batch's new partitions before it commits the batch's offsets.
 */
import { BatchCreatePartitionCommand, CreateTableCommand, GetTableCommand, UpdateTableCommand, type GlueClient, type PartitionInput, type TableInput } from '@aws-sdk/client-glue';
import { LakeloaderError } from './errors';

/** What a registration call did. */
export interface RegisterResult {
  /** Partitions created by this call. */
  created: number;
  /** Partitions that already existed (AlreadyExistsException entries). */
  existing: number;
}

/** What the loader needs from a catalog. */
export interface Catalog {
  /**
   * Registers partitions of `database.table`; partitions that already exist are fine.
   * @throws CatalogError on any other failure (the batch is then retried).
   */
  registerPartitions(database: string, table: string, partitions: PartitionInput[]): Promise<RegisterResult>;
}

/** A table as the catalog holds it, with the version an update must name (optimistic concurrency). */
export interface CatalogTable {
  input: TableInput;
  versionId: string | undefined;
}

/** What the Iceberg committer needs from a catalog: read, create and conditionally update a table. */
export interface TableCatalog {
  /** The table, or null when it does not exist. @throws CatalogError */
  getTable(database: string, table: string): Promise<CatalogTable | null>;
  /** Creates a table. @throws TableExistsError when it exists already; CatalogError */
  createTable(database: string, input: TableInput): Promise<void>;
  /** Replaces a table if it is still at `versionId`. @throws CommitConflictError when it is not; CatalogError */
  updateTable(database: string, input: TableInput, versionId: string | undefined): Promise<void>;
}

/** Another writer changed the table since it was read (Glue ConcurrentModificationException): re-read and re-apply. */
export class CommitConflictError extends LakeloaderError {
  readonly code = 'COMMIT_CONFLICT';
}

/** The table exists already (Glue AlreadyExistsException). */
export class TableExistsError extends LakeloaderError {
  readonly code = 'TABLE_EXISTS';
}

/** Registering partitions failed; the message names the table, the partition and Glue's reason. */
export class CatalogError extends LakeloaderError {
  readonly code = 'CATALOG';
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
  }
}

const errorText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

/** BatchCreatePartition accepts at most 100 partitions a call. */
export const GLUE_BATCH_LIMIT = 100;

/** {@link Catalog} over AWS Glue: BatchCreatePartition in chunks of ≤100, AlreadyExists tolerated; and the {@link TableCatalog} of Iceberg commits. */
export class GlueCatalog implements Catalog, TableCatalog {
  constructor(private readonly glue: Pick<GlueClient, 'send'>) {}

  async getTable(database: string, table: string): Promise<CatalogTable | null> {
    try {
      const t = (await this.glue.send(new GetTableCommand({ DatabaseName: database, Name: table }))).Table;
      if (!t) return null;
      const input: TableInput = { Name: t.Name, Description: t.Description, TableType: t.TableType, Parameters: t.Parameters, StorageDescriptor: t.StorageDescriptor, PartitionKeys: t.PartitionKeys };
      return { input, versionId: t.VersionId };
    } catch (e) {
      if ((e as { name?: string }).name === 'EntityNotFoundException') return null;
      throw new CatalogError(`Glue GetTable ${database}.${table} failed: ${errorText(e)}; check that the loader role may glue:GetTable`, e);
    }
  }

  async createTable(database: string, input: TableInput): Promise<void> {
    try {
      await this.glue.send(new CreateTableCommand({ DatabaseName: database, TableInput: input }));
    } catch (e) {
      if ((e as { name?: string }).name === 'AlreadyExistsException') throw new TableExistsError(`table ${database}.${input.Name} exists already`);
      throw new CatalogError(`Glue CreateTable ${database}.${input.Name} failed: ${errorText(e)}; check that the database exists and the role may glue:CreateTable`, e);
    }
  }

  async updateTable(database: string, input: TableInput, versionId: string | undefined): Promise<void> {
    try {
      await this.glue.send(new UpdateTableCommand({ DatabaseName: database, TableInput: input, ...(versionId !== undefined ? { VersionId: versionId } : {}), SkipArchive: true }));
    } catch (e) {
      if ((e as { name?: string }).name === 'ConcurrentModificationException') throw new CommitConflictError(`table ${database}.${input.Name} changed since version ${versionId}: ${errorText(e)}`);
      throw new CatalogError(`Glue UpdateTable ${database}.${input.Name} failed: ${errorText(e)}; check that the loader role may glue:UpdateTable`, e);
    }
  }

  async registerPartitions(database: string, table: string, partitions: PartitionInput[]): Promise<RegisterResult> {
    const result: RegisterResult = { created: 0, existing: 0 };
    for (let i = 0; i < partitions.length; i += GLUE_BATCH_LIMIT) {
      const chunk = partitions.slice(i, i + GLUE_BATCH_LIMIT);
      let out;
      try {
        out = await this.glue.send(new BatchCreatePartitionCommand({ DatabaseName: database, TableName: table, PartitionInputList: chunk }));
      } catch (e) {
        throw new CatalogError(
          `Glue BatchCreatePartition on ${database}.${table} failed: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}; ` +
            'check that the database and table exist and the loader role may glue:BatchCreatePartition',
          e,
        );
      }
      let existing = 0;
      for (const err of out.Errors ?? []) {
        const code = err.ErrorDetail?.ErrorCode ?? '';
        if (code === 'AlreadyExistsException') {
          existing++;
          continue;
        }
        throw new CatalogError(
          `Glue BatchCreatePartition on ${database}.${table} rejected partition [${(err.PartitionValues ?? []).join(', ')}]: ${code}: ${err.ErrorDetail?.ErrorMessage ?? ''}`,
        );
      }
      result.existing += existing;
      result.created += chunk.length - existing;
    }
    return result;
  }
}

/** The partition values of a table partition, as a cache key. */
const cacheKey = (database: string, table: string, values: string[]) => JSON.stringify([database, table, values]);

/**
 * Registers partitions through a {@link Catalog}, skipping those this container has already
 * registered (or found to exist). Lives at module scope so that it survives warm invocations.
 */
export class PartitionRegistrar {
  private readonly known = new Set<string>();

  constructor(private readonly catalog: Catalog) {}

  /**
   * Registers those of `partitions` not yet known; remembers them on success.
   * @returns how many were created, already existed, or were skipped thanks to the cache.
   */
  async register(database: string, table: string, partitions: PartitionInput[]): Promise<RegisterResult & { cached: number }> {
    const todo: PartitionInput[] = [];
    const seen = new Set<string>();
    for (const p of partitions) {
      const k = cacheKey(database, table, p.Values ?? []);
      if (this.known.has(k) || seen.has(k)) continue;
      seen.add(k);
      todo.push(p);
    }
    const cached = partitions.length - todo.length;
    if (todo.length === 0) return { created: 0, existing: 0, cached };
    const r = await this.catalog.registerPartitions(database, table, todo);
    for (const k of seen) this.known.add(k);
    return { ...r, cached };
  }
}
