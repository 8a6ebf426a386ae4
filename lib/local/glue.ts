/**
 * The Glue Data Catalog API (JSON 1.1) of the local endpoint. The catalog's state and its
 * persistence live in lib/local/glue/model.ts; each family of operations is a module exporting a
 * table of action → handler (databases, tables and their versions, partitions, resources); this
 * facade merges the tables and dispatches, and gives the Athena engine read access.
 *
 * Another family hooks in with {@link LocalGlueCatalog.register} (e.g. the Schema Registry
 * actions), without touching the dispatcher.
 */
import { join } from 'node:path';
import { AwsJsonError } from './errors';
import { databaseActions } from './glue/databases';
import { GlueState, type GlueAction, type GluePartition, type GlueTable, type Json } from './glue/model';
import { partitionActions } from './glue/partitions';
import { resourceActions } from './glue/resources';
import { tableActions } from './glue/tables';

export { compilePartitionExpression } from './glue/expression';
export type { GlueAction, GlueColumn, GluePartition, GlueStorageDescriptor, GlueTable } from './glue/model';

/** A handler of an action served beside the catalog's own (it keeps its own state). */
export type GlueExtraAction = (input: Json) => unknown | Promise<unknown>;

/** The local Glue catalog. */
export class LocalGlueCatalog {
  private readonly actions = new Map<string, GlueAction>(Object.entries({ ...databaseActions, ...tableActions, ...partitionActions, ...resourceActions }));

  private constructor(private readonly state: GlueState) {}

  /** Opens (and loads) the catalog persisted under `<dataDir>/glue`. */
  static async open(dataDir: string): Promise<LocalGlueCatalog> {
    const state = new GlueState(join(dataDir, 'glue'));
    await state.load();
    return new LocalGlueCatalog(state);
  }

  /**
   * Adds actions served by another module (which keeps its own state), e.g. the Glue Schema
   * Registry's `CreateRegistry`, `GetSchemaVersion`, ….
   * @throws Error when an action is already served
   */
  register(actions: Record<string, GlueExtraAction>): void {
    for (const [name, fn] of Object.entries(actions)) {
      if (this.actions.has(name)) throw new Error(`Glue action ${name} is already served by the local endpoint`);
      this.actions.set(name, (_state, input) => fn(input));
    }
  }

  /** The names of the actions served, sorted. */
  actionNames(): string[] {
    return [...this.actions.keys()].sort();
  }

  /** Dispatches one Glue operation. */
  async handle(op: string, input: Json): Promise<unknown> {
    const action = this.actions.get(op);
    if (!action) {
      throw new AwsJsonError(
        'UnsupportedOperationException',
        `Glue operation ${op} is not implemented by the Lakeloader local endpoint (supported: databases, tables and table versions, partitions, tags; see docs/local-endpoint.md)`,
      );
    }
    return action(this.state, input);
  }

  // ---- read access for the Athena engine ----

  /** Database names (lower-case). */
  databaseNames(): string[] {
    return [...this.state.dbs.keys()];
  }

  /** Tables of a database, or undefined when the database does not exist. */
  tablesOf(db: string): GlueTable[] | undefined {
    const d = this.state.dbs.get(db.toLowerCase());
    return d ? [...d.tables.values()].map((t) => t.table) : undefined;
  }

  /** Registered partitions of a table. */
  partitionsOf(db: string, table: string): GluePartition[] {
    return [...(this.state.dbs.get(db.toLowerCase())?.tables.get(table.toLowerCase())?.partitions.values() ?? [])];
  }
}
