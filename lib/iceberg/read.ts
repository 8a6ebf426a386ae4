/**
 * Reading an Iceberg table's data files by field id, as Iceberg readers (Athena among them) do:
 * DuckDB's `read_parquet(…, schema = MAP {<field id>: {name, type, default_value}})` maps each
 * file's columns to the table's schema by the field ids the files carry, so a column added by
 * schema evolution reads as null from files written before it, and a file's own column names do
 * not matter. Used by the local Athena and by compaction.
 */
import { columnTypeOfIceberg, type IcebergSchema, type IcebergType } from '../../lambdas/core/iceberg/schema';
import { duckDbType, quoteIdent, quoteLiteral } from '../local/sql';

/** A table column as DuckDB reads it. */
export interface FieldIdColumn {
  id: number;
  name: string;
  /** The DuckDB type the column is read as. */
  type: string;
}

export interface FieldIdReadOptions {
  /**
   * `timestamptz` as TIMESTAMPTZ (a rewrite keeps the files' UTC-adjusted timestamps) rather than
   * TIMESTAMP (what the local Athena's queries see). @default false
   */
  keepTimeZone?: boolean;
}

/** The DuckDB type of an Iceberg type the loader writes, or null. */
function duckType(t: IcebergType, keepTimeZone: boolean): string | null {
  const c = columnTypeOfIceberg(t);
  if (c === null) return null;
  if (!keepTimeZone) return duckDbType(c);
  if (typeof t === 'string') return t === 'timestamptz' ? 'TIMESTAMPTZ' : duckDbType(c);
  if (t.type === 'list') return `${duckType(t.element, true)}[]`;
  if (t.type === 'map') return `MAP(VARCHAR, ${duckType(t.value, true)})`;
  return `STRUCT(${t.fields.map((f) => `${quoteIdent(f.name)} ${duckType(f.type, true)}`).join(', ')})`;
}

/**
 * `read_parquet` of `paths` by field id (see the module comment): the source to select
 * `<alias>.<name>` from, and the columns of `schema` the local tools can read (fields of the
 * types the loader writes).
 */
export function readByFieldId(paths: string[], schema: IcebergSchema, opts: FieldIdReadOptions = {}): { source: string; columns: FieldIdColumn[] } {
  const columns: FieldIdColumn[] = [];
  for (const f of schema.fields) {
    const type = duckType(f.type, opts.keepTimeZone ?? false);
    if (type !== null) columns.push({ id: f.id, name: f.name, type });
  }
  const parameter = `MAP {${columns.map((c) => `${c.id}: {name: ${quoteLiteral(c.name)}, type: ${quoteLiteral(c.type)}, default_value: NULL}`).join(', ')}}`;
  return { source: `read_parquet([${paths.map(quoteLiteral).join(', ')}], schema = ${parameter})`, columns };
}
