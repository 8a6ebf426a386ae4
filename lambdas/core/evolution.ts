/**
 * Schema evolution of a Hive (Parquet + Glue) table: the columns a batch needs beyond the declared
 * ones are appended to the Glue table (never reordered, never retyped except a struct growing a
 * field), and the batch's files are written with the table's current columns. Old files simply
 * lack the new columns, which Athena (reading Parquet by name) returns as null.
 *
 * Where the columns come from: the writer schema of each record (Avro, Protobuf, JSON Schema from a
 * registry) or, for plain JSON with `unknownFields: 'evolve'`, the fields of a row that are not
 * columns (typed from their first non-null value). Whether they fit the table is decided here by
 * one rule, {@link mergeType}: a writer's type fits a column when every value of it conforms
 * without loss (int into bigint, float into double, a narrower decimal into a wider one, numbers
 * and booleans into string, and a struct with fewer fields into one with more); anything else —
 * a narrowed type, a different kind — is an incompatible change whose records are quarantined
 * with the reason. A required column that a writer schema lacks is incompatible too.
 *
 * The Glue table is changed with UpdateTable and its VersionId (optimistic: on a concurrent change
 * it is read again and the plan re-applied), so loaders of several containers evolve one table
 * safely. Without a catalog (tests, `tryPipeline`, the bench) the table evolves in memory.
 */
import { GetTableCommand, UpdateTableCommand, type Column as GlueColumn, type GlueClient, type Table, type TableInput } from '@aws-sdk/client-glue';
import { ColumnTypeError, formatColumnType, parseColumnType, type ColumnType } from './types';
import { PIPELINE_BRAND, type Column, type Pipeline } from './pipeline';
import { LakeloaderError } from './errors';
import { evolveIcebergSchema, icebergLayout, type IcebergSchema } from './iceberg/schema';

/** Glue column parameter holding the source field of an evolved column whose name differs (JSON `userId` → `userid`). */
export const FIELD_PARAMETER = 'lakeloader.field';

/** A column a batch needs (from a writer schema or an unknown JSON field). */
export interface NeededColumn {
  name: string;
  type: ColumnType;
  /** The row field the value comes from. @default name */
  field?: string;
  comment?: string;
}

/** Evolving the table failed for an infrastructure reason (Glue); the batch is retried. */
export class TableEvolutionError extends LakeloaderError {
  readonly code = 'TABLE_EVOLUTION';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The result of fitting a writer's type into a column's type. */
export type Merge = { type: ColumnType; grew: boolean } | { problem: string };

const NUMERIC_RANK: Record<string, number> = { int: 1, bigint: 2, float: 3, double: 4 };

/**
 * Fits `writer` (the type of the incoming values) into `table` (the column's type).
 * @returns the column's type (grown when a struct gained fields and `grow` allows), or the problem
 */
export function mergeType(table: ColumnType, writer: ColumnType, grow: boolean, path = ''): Merge {
  const same = formatColumnType(table) === formatColumnType(writer);
  if (same) return { type: table, grew: false };
  const no = (detail?: string): Merge => ({ problem: `${path ? `"${path}": ` : ''}${detail ?? `the writer's type ${formatColumnType(writer)} does not fit the table's column type ${formatColumnType(table)}`}` });
  const tk = table.kind;
  const wk = writer.kind;
  if (tk in NUMERIC_RANK && wk in NUMERIC_RANK) {
    // int → bigint/float/double, bigint → double, float → double: Avro's promotions.
    const ok = NUMERIC_RANK[wk] < NUMERIC_RANK[tk] && !(wk === 'bigint' && tk === 'float');
    return ok ? { type: table, grew: false } : no(`type narrowed: the writer's ${wk} does not fit the table's ${tk}`);
  }
  if (tk === 'decimal' && (wk === 'decimal' || wk === 'int' || wk === 'bigint')) {
    const [wp, ws] = wk === 'decimal' ? [writer.precision, writer.scale] : [wk === 'int' ? 10 : 19, 0];
    return table.scale >= ws && table.precision - table.scale >= wp - ws ? { type: table, grew: false } : no(`type narrowed: the writer's ${formatColumnType(writer)} does not fit the table's ${formatColumnType(table)}`);
  }
  if (tk === 'string' && (wk in NUMERIC_RANK || wk === 'boolean' || wk === 'decimal')) return { type: table, grew: false };
  if (tk === 'array' && wk === 'array') {
    const m = mergeType(table.element, writer.element, grow, `${path}[]`);
    return 'problem' in m ? m : { type: m.grew ? { kind: 'array', element: m.type } : table, grew: m.grew };
  }
  if (tk === 'map' && wk === 'map') {
    const m = mergeType(table.value, writer.value, grow, `${path}{}`);
    return 'problem' in m ? m : { type: m.grew ? { kind: 'map', value: m.type } : table, grew: m.grew };
  }
  if (tk === 'struct' && wk === 'struct') {
    const fields = [...table.fields];
    let grew = false;
    for (const wf of writer.fields) {
      const i = fields.findIndex((f) => f.name === wf.name);
      if (i < 0) {
        if (!grow) continue;
        fields.push(wf);
        grew = true;
        continue;
      }
      const m = mergeType(fields[i].type, wf.type, grow, path ? `${path}.${wf.name}` : wf.name);
      if ('problem' in m) return m;
      if (m.grew) {
        fields[i] = { name: wf.name, type: m.type };
        grew = true;
      }
    }
    return { type: grew ? { kind: 'struct', fields } : table, grew };
  }
  return no();
}

/** What a batch's columns need from the table. */
export interface EvolutionPlan {
  /** New top-level columns to append. */
  add: NeededColumn[];
  /** Existing struct columns that gain fields: column name → grown type. */
  widen: Map<string, ColumnType>;
  /** Why the needed columns cannot fit (their records are quarantined); null when they fit. */
  problem: string | null;
}

/**
 * The pipeline whose file columns are `columns` (same declaration otherwise; a new object, so
 * per-pipeline caches key on it); for an Iceberg table, with the table's schema (its field ids).
 */
export function withColumns(pipeline: Pipeline, columns: Column[], iceberg?: IcebergSchemaState): Pipeline {
  const p: Pipeline = { ...pipeline, columns, ...(iceberg ? { icebergSchema: iceberg } : {}) };
  return Object.defineProperty(p, PIPELINE_BRAND, { value: true, enumerable: false });
}

/** Glue's column list of a pipeline's effective columns (as the table holds them). */
export function glueColumns(columns: Column[]): GlueColumn[] {
  return columns.map((c) => ({
    Name: c.name,
    Type: c.glueType,
    ...(c.comment ? { Comment: c.comment } : {}),
    ...(c.field !== c.name && !c.kafka ? { Parameters: { [FIELD_PARAMETER]: c.field } } : {}),
  }));
}

/**
 * The table's columns as the loader sees them: the declared columns (a declared struct grown in
 * the catalog takes the catalog's type), then every column the catalog has beyond them, in the
 * catalog's order.
 */
export function effectiveColumns(pipeline: Pipeline, catalog: GlueColumn[]): Column[] {
  const byName = new Map(catalog.map((c) => [c.Name!.toLowerCase(), c]));
  const keys = new Set(pipeline.partitionKeys.map((k) => k.name));
  const out: Column[] = pipeline.columns.map((c) => {
    const g = byName.get(c.name);
    if (!g?.Type || c.kafka) return c;
    let t: ColumnType;
    try {
      t = parseColumnType(g.Type);
    } catch {
      return c;
    }
    const m = mergeType(t, c.type, false);
    return !('problem' in m) && formatColumnType(t) !== c.glueType && c.type.kind === 'struct' ? { ...c, type: t, glueType: formatColumnType(t) } : c;
  });
  const known = new Set(out.map((c) => c.name));
  for (const g of catalog) {
    const name = g.Name!.toLowerCase();
    if (known.has(name) || keys.has(name) || !g.Type) continue;
    let type: ColumnType;
    try {
      type = parseColumnType(g.Type);
    } catch (e) {
      if (e instanceof ColumnTypeError) continue; // a column added by hand with a type the loader does not write: left alone
      throw e;
    }
    out.push({ name, type, glueType: formatColumnType(type), required: false, field: g.Parameters?.[FIELD_PARAMETER] ?? name, ...(g.Comment ? { comment: g.Comment } : {}) });
    known.add(name);
  }
  return out;
}

/**
 * Plans how `needed` fits `columns`.
 * @param policy 'evolve' appends and grows; 'ignore' leaves new fields out; 'quarantine' makes new fields a problem
 * @param present names of the fields the writer has (to find required columns it lacks); omit when unknown
 */
export function planEvolution(columns: Column[], needed: NeededColumn[], policy: 'evolve' | 'ignore' | 'quarantine', present?: Set<string>): EvolutionPlan {
  const plan: EvolutionPlan = { add: [], widen: new Map(), problem: null };
  const byName = new Map(columns.map((c) => [c.name, c]));
  const byField = new Map(columns.filter((c) => !c.kafka).map((c) => [c.field, c]));
  for (const n of needed) {
    const col = byField.get(n.field ?? n.name) ?? byName.get(n.name);
    if (!col || col.kafka) {
      if (col?.kafka) {
        plan.problem = `field "${n.field ?? n.name}" collides with the Kafka coordinate column ${col.name}`;
        return plan;
      }
      if (policy === 'quarantine') {
        plan.problem = `new field "${n.field ?? n.name}" (${formatColumnType(n.type)}) is not a column and unknownFields is 'quarantine'`;
        return plan;
      }
      if (policy === 'evolve') plan.add.push(n);
      continue;
    }
    const m = mergeType(col.type, n.type, policy === 'evolve', col.name);
    if ('problem' in m) {
      plan.problem = `incompatible change: ${m.problem}`;
      return plan;
    }
    if (m.grew) plan.widen.set(col.name, m.type);
  }
  if (present) {
    for (const c of columns) {
      if (c.required && !c.kafka && !present.has(c.field)) {
        plan.problem = `incompatible change: the table requires column "${c.name}" but the writer schema has no field "${c.field}"`;
        return plan;
      }
    }
  }
  return plan;
}

/** A table's columns as its catalog holds them; for an Iceberg table also its current schema (the field ids). */
export interface TableColumns {
  columns: GlueColumn[];
  iceberg?: IcebergSchemaState;
}

/** An Iceberg table's current schema and `last-column-id`. */
export interface IcebergSchemaState {
  schema: IcebergSchema;
  lastColumnId: number;
}

/** Reads and changes a table's columns in the catalog. */
export interface TableColumnsStore {
  read(): Promise<TableColumns>;
  /**
   * Changes the table's columns optimistically: `plan` gets the current ones and returns the new
   * list (or null: nothing to change); after a concurrent change of the table it runs again on
   * the new current columns, so two loaders adding the same column converge on one.
   * @returns the table's columns after the change
   * @throws TableEvolutionError when the catalog cannot be read or changed
   */
  update(plan: (current: TableColumns) => GlueColumn[] | null): Promise<TableColumns>;
}

/** The ConcurrentModificationException of a stale VersionId. */
const isConflict = (e: unknown) => (e as { name?: string })?.name === 'ConcurrentModificationException';

/** Conflicting updates in a row after which evolving gives up (the batch is retried). */
const MAX_UPDATE_ATTEMPTS = 9;

/** {@link TableColumnsStore} over Glue (a Hive table): GetTable, then UpdateTable with the table's VersionId. */
export function glueTableColumns(glue: Pick<GlueClient, 'send'>, database: string, table: string): TableColumnsStore {
  const get = async (): Promise<Table> => {
    let t: Table | undefined;
    try {
      t = (await glue.send(new GetTableCommand({ DatabaseName: database, Name: table }))).Table;
    } catch (e) {
      throw new TableEvolutionError(`Glue GetTable ${database}.${table} failed: ${(e as Error).name}: ${(e as Error).message}; the loader role needs glue:GetTable and the table must exist`, { cause: e });
    }
    if (!t) throw new TableEvolutionError(`Glue GetTable ${database}.${table} returned no table`);
    return t;
  };
  return {
    async read() {
      return { columns: (await get()).StorageDescriptor?.Columns ?? [] };
    },
    async update(plan) {
      for (let attempt = 1; ; attempt++) {
        const t = await get();
        const current = { columns: t.StorageDescriptor?.Columns ?? [] };
        const columns = plan(current);
        if (columns === null) return current;
        const input: TableInput = {
          Name: t.Name,
          Description: t.Description,
          Owner: t.Owner,
          Retention: t.Retention,
          PartitionKeys: t.PartitionKeys,
          TableType: t.TableType,
          Parameters: t.Parameters,
          StorageDescriptor: { ...t.StorageDescriptor, Columns: columns },
          ...(t.ViewOriginalText ? { ViewOriginalText: t.ViewOriginalText, ViewExpandedText: t.ViewExpandedText } : {}),
        };
        try {
          await glue.send(new UpdateTableCommand({ DatabaseName: database, TableInput: input, VersionId: t.VersionId }));
          return { columns };
        } catch (e) {
          if (isConflict(e) && attempt < MAX_UPDATE_ATTEMPTS) continue;
          throw new TableEvolutionError(`Glue UpdateTable ${database}.${table} failed: ${(e as Error).name}: ${(e as Error).message}; the loader role needs glue:UpdateTable on its table`, { cause: e });
        }
      }
    },
  };
}

/**
 * The Iceberg schema that holds `columns` (Glue columns, as {@link glueColumns} writes them):
 * `state`'s schema grown by {@link evolveIcebergSchema}; columns with a type the loader does not
 * write are left to the schema as they are.
 */
export function schemaForColumns(state: IcebergSchemaState, columns: GlueColumn[]): IcebergSchemaState & { added: string[] } {
  const typed: { name: string; type: ColumnType; comment?: string }[] = [];
  for (const g of columns) {
    try {
      typed.push({ name: g.Name!.toLowerCase(), type: parseColumnType(g.Type ?? ''), ...(g.Comment ? { comment: g.Comment } : {}) });
    } catch (e) {
      if (!(e instanceof ColumnTypeError)) throw e;
    }
  }
  const r = evolveIcebergSchema(state.schema, state.lastColumnId, typed);
  return { schema: r.schema, lastColumnId: r.lastColumnId, added: r.added };
}

/**
 * A table held in memory (no catalog): what tests, `tryPipeline` and the bench evolve. With
 * `iceberg`, the table's schema evolves too, so field ids stay stable as in a catalog's table.
 */
export function memoryTableColumns(initial: GlueColumn[], iceberg?: IcebergSchemaState): TableColumnsStore & TableColumns & { updates: number } {
  const self = {
    columns: initial,
    ...(iceberg ? { iceberg } : {}),
    updates: 0,
    async read(): Promise<TableColumns> {
      return { columns: self.columns, ...(self.iceberg ? { iceberg: self.iceberg } : {}) };
    },
    async update(plan: (current: TableColumns) => GlueColumn[] | null): Promise<TableColumns> {
      const current = await self.read();
      const columns = plan(current);
      if (columns === null) return current;
      self.columns = columns;
      if (self.iceberg) {
        const s = schemaForColumns(self.iceberg, columns);
        self.iceberg = { schema: s.schema, lastColumnId: s.lastColumnId };
      }
      self.updates++;
      return self.read();
    },
  };
  return self;
}

/**
 * One table's evolving columns in a warm container: the effective pipeline for a batch's needs,
 * growing the catalog's table first when the needs go beyond it.
 */
export class EvolvingTable {
  private columns: Column[];
  private effective: Pipeline;
  private schema: IcebergSchemaState | undefined;
  private loaded = false;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly declared: Pipeline,
    private readonly store: TableColumnsStore,
  ) {
    this.columns = declared.columns;
    this.effective = declared;
  }

  /** The pipeline with the table's current columns (read from the catalog once per container). */
  async current(): Promise<Pipeline> {
    if (!this.loaded) this.apply(effectiveColumns(this.declared, (await this.read()).columns), this.lastRead);
    return this.effective;
  }

  /** The current columns (after {@link current}). */
  get currentColumns(): Column[] {
    return this.columns;
  }

  private lastRead: IcebergSchemaState | undefined;
  private async read(): Promise<TableColumns> {
    const t = await this.store.read();
    this.lastRead = t.iceberg;
    return t;
  }

  private apply(cols: Column[], schema: IcebergSchemaState | undefined): void {
    const first = !this.loaded;
    this.loaded = true;
    const same = cols.length === this.columns.length && cols.every((c, i) => c.name === this.columns[i].name && c.glueType === this.columns[i].glueType);
    if (!first && same && schema?.schema === this.schema?.schema) return;
    this.columns = cols;
    this.schema = schema;
    const declaredOnly = cols.length === this.declared.columns.length && cols.every((c, i) => c === this.declared.columns[i]);
    // An Iceberg table whose schema is the declaration's: the declared pipeline's field ids are the table's.
    const declaredSchema = schema === undefined || this.declared.format !== 'iceberg' || JSON.stringify(schema.schema.fields) === JSON.stringify(icebergLayout(this.declared).schema.fields);
    this.effective = declaredOnly && declaredSchema ? this.declared : withColumns(this.declared, cols, this.declared.format === 'iceberg' ? schema : undefined);
  }

  /**
   * Grows the table by `needed` (appends columns, widens structs) in the catalog, re-planning on a
   * concurrent change, and returns the effective pipeline.
   * @throws TableEvolutionError when the catalog cannot be read or changed
   */
  async grow(needed: NeededColumn[]): Promise<Pipeline> {
    const run = this.chain.then(() => this.growNow(needed));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async growNow(needed: NeededColumn[]): Promise<Pipeline> {
    let planned: Column[] = this.columns;
    let after: TableColumns;
    try {
      after = await this.store.update((snapshot) => {
        const current = effectiveColumns(this.declared, snapshot.columns);
        const plan = planEvolution(current, needed, 'evolve');
        planned = current;
        if (plan.add.length === 0 && plan.widen.size === 0) return null;
        const next: Column[] = current.map((c) => {
          const t = plan.widen.get(c.name);
          return t ? { ...c, type: t, glueType: formatColumnType(t) } : c;
        });
        for (const a of plan.add) next.push({ name: a.name, type: a.type, glueType: formatColumnType(a.type), required: false, field: a.field ?? a.name, ...(a.comment ? { comment: a.comment } : {}) });
        planned = next;
        // The catalog's list: its own columns (grown where needed), then the new ones.
        const catalogNames = new Set(snapshot.columns.map((c) => c.Name!.toLowerCase()));
        const updated: GlueColumn[] = snapshot.columns.map((g) => {
          const t = plan.widen.get(g.Name!.toLowerCase());
          return t ? { ...g, Type: formatColumnType(t) } : g;
        });
        const missing = next.filter((c) => !catalogNames.has(c.name) && !this.declared.partitionKeys.some((k) => k.name === c.name));
        updated.push(...glueColumns(missing));
        return updated;
      });
    } catch (e) {
      if (e instanceof TableEvolutionError) throw e;
      throw new TableEvolutionError(`evolving table ${this.declared.name} (adding ${needed.map((n) => n.name).join(', ')}) failed: ${(e as Error).name}: ${(e as Error).message}`, { cause: e });
    }
    this.apply(planned, after.iceberg);
    return this.effective;
  }
}
