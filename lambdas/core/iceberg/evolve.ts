/**
 * Schema evolution of an Iceberg table, as Iceberg's `UpdateSchema` does it and through the same
 * optimistic catalog commit as every other change of the table (table.ts `commitMetadata`): the
 * new columns get new field ids (from the metadata's `last-column-id` on), the grown schema is
 * appended to the metadata's `schemas` as the current one, and the Glue table's columns follow
 * (with Athena's `iceberg.field.*` parameters), in one UpdateTable naming the VersionId read. On a
 * conflict the plan runs again on the new current schema: a column another loader added
 * meanwhile is then already there, so concurrent evolvers converge instead of adding it twice.
 *
 * Data files written after the change carry the new field ids; older files lack them, and
 * readers (Athena, by field id) return null for them.
 */
import type { Column as GlueColumn } from '@aws-sdk/client-glue';
import type { CatalogTable } from '../catalog';
import { effectiveColumns, FIELD_PARAMETER, schemaForColumns, withColumns, type TableColumns, type TableColumnsStore } from '../evolution';
import type { Pipeline } from '../pipeline';
import { formatColumnType } from '../types';
import { withSchema, type TableMetadata } from './metadata';
import { columnTypeOfIceberg, currentSchema, type IcebergSchema } from './schema';
import { commitMetadata, ensureIcebergTable, IcebergTableMissingError, readTableMetadata, type IcebergDeps } from './table';

/** Glue column parameters Athena sets on an Iceberg table's columns. */
export const ICEBERG_FIELD_ID = 'iceberg.field.id';

/**
 * The Glue columns of an Iceberg schema, as Athena writes them (`iceberg.field.id`, `.optional`,
 * `.current`); parameters of `previous` columns of the same name that are not Athena's (the
 * loader's source field of a renamed column) are kept. Fields of a type Glue columns cannot hold
 * for the loader are left out.
 */
export function icebergGlueColumns(schema: IcebergSchema, previous: readonly GlueColumn[] = []): GlueColumn[] {
  const before = new Map(previous.map((c) => [c.Name!.toLowerCase(), c]));
  const out: GlueColumn[] = [];
  for (const f of schema.fields) {
    const t = columnTypeOfIceberg(f.type);
    if (t === null) continue;
    const kept = Object.fromEntries(Object.entries(before.get(f.name)?.Parameters ?? {}).filter(([k]) => !k.startsWith('iceberg.')));
    out.push({
      Name: f.name,
      Type: formatColumnType(t),
      ...(f.doc ? { Comment: f.doc } : {}),
      Parameters: { ...kept, [ICEBERG_FIELD_ID]: String(f.id), 'iceberg.field.optional': String(!f.required), 'iceberg.field.current': 'true' },
    });
  }
  return out;
}

/** The table's columns as the loader evolves them: the current schema's fields, with the loader's Glue column parameters. */
function columnsOf(table: CatalogTable, metadata: TableMetadata): TableColumns {
  const schema = currentSchema(metadata);
  const glue = table.input.StorageDescriptor?.Columns ?? [];
  const columns = icebergGlueColumns(schema, glue).map((c) => {
    const field = c.Parameters?.[FIELD_PARAMETER];
    return { Name: c.Name, Type: c.Type, ...(c.Comment ? { Comment: c.Comment } : {}), ...(field ? { Parameters: { [FIELD_PARAMETER]: field } } : {}) };
  });
  return { columns, iceberg: { schema, lastColumnId: metadata['last-column-id'] } };
}

/**
 * The {@link TableColumnsStore} of an Iceberg table in the catalog: reads the current schema from
 * the table's metadata; an update commits a new schema (see the module comment).
 * @throws IcebergTableMissingError, IcebergCommitError (too many conflicts), catalog and store errors
 */
export function icebergTableColumns(deps: IcebergDeps): TableColumnsStore {
  return {
    async read() {
      for (let attempt = 0; attempt < 2; attempt++) {
        const table = await deps.catalog.getTable(deps.database, deps.pipeline.name);
        if (!table) throw new IcebergTableMissingError(`the Iceberg table ${deps.database}.${deps.pipeline.name} is not in the catalog; deploy the stack or run lakeloader provision`);
        const current = await readTableMetadata(deps, table);
        if (current) return columnsOf(table, current.metadata);
        await ensureIcebergTable(deps);
      }
      throw new IcebergTableMissingError(`the Iceberg table ${deps.database}.${deps.pipeline.name} has no metadata_location`);
    },
    async update(plan) {
      const now = deps.now ?? Date.now;
      const r = await commitMetadata<{ after: TableColumns }>(deps, async ({ table, metadata, location }) => {
        const current = columnsOf(table, metadata);
        const columns = plan(current);
        if (columns === null) return { done: { after: current } };
        const grown = schemaForColumns(current.iceberg!, columns);
        if (grown.added.length === 0) return { done: { after: current } };
        const next = withSchema(metadata, grown.schema, grown.lastColumnId, location, now());
        const glue = icebergGlueColumns(currentSchema(next), columns);
        return { next, result: { after: columnsOf({ ...table, input: { ...table.input, StorageDescriptor: { ...table.input.StorageDescriptor, Columns: glue } } }, next) }, columns: glue };
      });
      return r.after;
    },
  };
}

/**
 * The pipeline as the table now is: the declared one with the columns of the table's current
 * schema and its field ids (what compaction rewrites files with).
 */
export function pipelineAtTable(declared: Pipeline, table: CatalogTable, metadata: TableMetadata): Pipeline {
  const t = columnsOf(table, metadata);
  return withColumns(declared, effectiveColumns(declared, t.columns), t.iceberg);
}
