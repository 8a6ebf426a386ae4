/**
 * A pipeline's Iceberg schema and partition spec (format v2, https://iceberg.apache.org/spec/),
 * derived from its declaration the same way every time, so the Parquet writer (field ids in the
 * files), the committer (manifests) and the catalog (the table's metadata) agree:
 *
 * - field ids: the file columns 1..N in order (declared columns, then the Kafka coordinates),
 *   then the nested fields (list elements, map keys and values, struct fields) numbered on,
 *   depth first in column order;
 * - partition spec 0: `hour(ts)` / `day(ts)` for event-time partitioning (`_kafka_ts` for the
 *   Kafka timestamp), `identity(col)` per partition column, or none; partition field ids from 1000.
 */
import type { ColumnType } from '../types';
import type { Pipeline } from '../pipeline';

export type IcebergType =
  | string
  | { type: 'list'; 'element-id': number; element: IcebergType; 'element-required': boolean }
  | { type: 'map'; 'key-id': number; key: IcebergType; 'value-id': number; value: IcebergType; 'value-required': boolean }
  | { type: 'struct'; fields: IcebergField[] };

export interface IcebergField {
  id: number;
  name: string;
  required: boolean;
  type: IcebergType;
  doc?: string;
}

export interface IcebergSchema {
  type: 'struct';
  'schema-id': number;
  fields: IcebergField[];
}

export interface PartitionField {
  'source-id': number;
  'field-id': number;
  name: string;
  transform: string;
}

export interface PartitionSpec {
  'spec-id': number;
  fields: PartitionField[];
}

/** A pipeline's table layout: schema, spec, and the ids the Parquet writer stamps on its fields. */
export interface IcebergLayout {
  schema: IcebergSchema;
  spec: PartitionSpec;
  lastColumnId: number;
  lastPartitionId: number;
  /** Field id per column path: `col`, `col.element`, `col.key_value.key`, `col.key_value.value`, `col.field`. */
  fieldIds: Map<string, number>;
  /** Per partition field, the index of its source column in `pipeline.columns`. */
  partitionSources: number[];
}

const primitive = (t: ColumnType): string | null => {
  switch (t.kind) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'int':
      return 'int';
    case 'bigint':
      return 'long';
    case 'float':
      return 'float';
    case 'double':
      return 'double';
    case 'decimal':
      return `decimal(${t.precision}, ${t.scale})`;
    case 'date':
      return 'date';
    case 'timestamp':
      return 'timestamptz';
    case 'binary':
      return 'binary';
    default:
      return null;
  }
};

const layouts = new WeakMap<Pipeline, IcebergLayout>();

/** The Iceberg layout of a pipeline (computed once per pipeline): the table's schema when the pipeline carries one (an evolved table), else derived from the declaration. */
export function icebergLayout(pipeline: Pipeline): IcebergLayout {
  const hit = layouts.get(pipeline);
  if (hit) return hit;
  if (pipeline.icebergSchema) {
    const layout = layoutOfSchema(pipeline, pipeline.icebergSchema.schema, pipeline.icebergSchema.lastColumnId);
    layouts.set(pipeline, layout);
    return layout;
  }
  const fieldIds = new Map<string, number>();
  let next = pipeline.columns.length;
  const nested = (t: ColumnType, path: string): IcebergType => {
    const p = primitive(t);
    if (p) return p;
    if (t.kind === 'array') {
      const id = ++next;
      fieldIds.set(`${path}.element`, id);
      return { type: 'list', 'element-id': id, element: nested(t.element, `${path}.element`), 'element-required': false };
    }
    if (t.kind === 'map') {
      const keyId = ++next;
      const valueId = ++next;
      fieldIds.set(`${path}.key_value.key`, keyId);
      fieldIds.set(`${path}.key_value.value`, valueId);
      return { type: 'map', 'key-id': keyId, key: 'string', 'value-id': valueId, value: nested(t.value, `${path}.key_value.value`), 'value-required': false };
    }
    if (t.kind === 'struct') {
      const ids = t.fields.map(() => ++next);
      return {
        type: 'struct',
        fields: t.fields.map((f, i) => {
          fieldIds.set(`${path}.${f.name}`, ids[i]!);
          return { id: ids[i]!, name: f.name, required: false, type: nested(f.type, `${path}.${f.name}`) };
        }),
      };
    }
    throw new Error(`no Iceberg type for ${(t as ColumnType).kind}`);
  };
  pipeline.columns.forEach((c, i) => fieldIds.set(c.name, i + 1));
  const fields: IcebergField[] = pipeline.columns.map((c, i) => ({
    id: i + 1,
    name: c.name,
    // Every column is optional in the table: a required one is checked by the loader (the row is quarantined), not by readers.
    required: false,
    type: nested(c.type, c.name),
    ...(c.comment ? { doc: c.comment } : {}),
  }));
  const { spec, partitionSources } = specOf(pipeline, (i) => i + 1);
  const layout: IcebergLayout = {
    schema: { type: 'struct', 'schema-id': 0, fields },
    spec,
    lastColumnId: next,
    lastPartitionId: spec.fields.length ? 999 + spec.fields.length : 999,
    fieldIds,
    partitionSources,
  };
  layouts.set(pipeline, layout);
  return layout;
}

/** Partition spec 0 of a pipeline's declaration; `idOf(i)` is the field id of `pipeline.columns[i]`. */
function specOf(pipeline: Pipeline, idOf: (index: number) => number): { spec: PartitionSpec; partitionSources: number[] } {
  const p = pipeline.partitioning;
  const specFields: PartitionField[] = [];
  const partitionSources: number[] = [];
  if (p.by === 'eventTime') {
    const source = 'column' in p.source ? p.source.column : '_kafka_ts';
    const idx = pipeline.columns.findIndex((c) => c.name === source);
    const transform = p.granularity === 'hour' ? 'hour' : 'day';
    specFields.push({ 'source-id': idOf(idx), 'field-id': 1000, name: `${source}_${transform}`, transform });
    partitionSources.push(idx);
  } else if (p.by === 'columns') {
    p.columns.forEach((c, i) => {
      const idx = pipeline.columns.findIndex((x) => x.name === c.name);
      specFields.push({ 'source-id': idOf(idx), 'field-id': 1000 + i, name: c.name, transform: 'identity' });
      partitionSources.push(idx);
    });
  }
  return { spec: { 'spec-id': 0, fields: specFields }, partitionSources };
}

/** The Iceberg type of a partition field's values (for the manifests' partition struct). */
export function partitionFieldType(pipeline: Pipeline, field: PartitionField): string {
  if (field.transform === 'hour') return 'int';
  if (field.transform === 'day') return 'date';
  const col = pipeline.columns[field['source-id'] - 1]!;
  return primitive(col.type) ?? 'string';
}

/** The schema a metadata file names current (`current-schema-id`). */
export function currentSchema(m: { 'current-schema-id': number; schemas: IcebergSchema[] }): IcebergSchema {
  const s = m.schemas.find((x) => x['schema-id'] === m['current-schema-id']);
  if (!s) throw new Error(`the table metadata has no schema ${m['current-schema-id']} (current-schema-id)`);
  return s;
}

/**
 * The column type of an Iceberg type, or null for a type the loader does not write (uuid, fixed,
 * time, timestamp_ns, variant…): such a field stays in the table, the loader leaves it null.
 */
export function columnTypeOfIceberg(t: IcebergType): ColumnType | null {
  if (typeof t === 'string') {
    const d = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(t);
    if (d) return { kind: 'decimal', precision: Number(d[1]), scale: Number(d[2]) };
    const kinds: Record<string, ColumnType['kind']> = { string: 'string', boolean: 'boolean', int: 'int', long: 'bigint', float: 'float', double: 'double', date: 'date', timestamptz: 'timestamp', timestamp: 'timestamp', binary: 'binary' };
    const k = kinds[t];
    return k ? ({ kind: k } as ColumnType) : null;
  }
  if (t.type === 'list') {
    const e = columnTypeOfIceberg(t.element);
    return e && { kind: 'array', element: e };
  }
  if (t.type === 'map') {
    const v = columnTypeOfIceberg(t.value);
    return t.key === 'string' && v ? { kind: 'map', value: v } : null;
  }
  const fields: { name: string; type: ColumnType }[] = [];
  for (const f of t.fields) {
    const ft = columnTypeOfIceberg(f.type);
    if (ft === null) return null;
    fields.push({ name: f.name, type: ft });
  }
  return { kind: 'struct', fields };
}

/** Field ids of a schema by column path (as {@link IcebergLayout.fieldIds}). */
function idsOfSchema(schema: IcebergSchema): Map<string, number> {
  const ids = new Map<string, number>();
  const walk = (t: IcebergType, path: string) => {
    if (typeof t === 'string') return;
    if (t.type === 'list') {
      ids.set(`${path}.element`, t['element-id']);
      walk(t.element, `${path}.element`);
    } else if (t.type === 'map') {
      ids.set(`${path}.key_value.key`, t['key-id']);
      ids.set(`${path}.key_value.value`, t['value-id']);
      walk(t.value, `${path}.key_value.value`);
    } else {
      for (const f of t.fields) {
        ids.set(`${path}.${f.name}`, f.id);
        walk(f.type, `${path}.${f.name}`);
      }
    }
  };
  for (const f of schema.fields) {
    ids.set(f.name, f.id);
    walk(f.type, f.name);
  }
  return ids;
}

/**
 * The schema of a table grown to hold `columns`: every field of `base` is kept with its id (a
 * table's fields are never dropped or renumbered), structs gain the fields `columns` add, and the
 * columns it lacks are appended with new ids from `lastColumnId` on (nested fields numbered
 * depth first after their column), as Iceberg's `UpdateSchema.addColumn` assigns them.
 * @returns the schema (a new `schema-id` when anything was added) and the new last column id
 */
export function evolveIcebergSchema(base: IcebergSchema, lastColumnId: number, columns: readonly { name: string; type: ColumnType; comment?: string }[]): { schema: IcebergSchema; lastColumnId: number; added: string[] } {
  let last = lastColumnId;
  const added: string[] = [];
  const fresh = (t: ColumnType): IcebergType => {
    const p = primitive(t);
    if (p) return p;
    if (t.kind === 'array') {
      const id = ++last;
      return { type: 'list', 'element-id': id, element: fresh(t.element), 'element-required': false };
    }
    if (t.kind === 'map') {
      const keyId = ++last;
      const valueId = ++last;
      return { type: 'map', 'key-id': keyId, key: 'string', 'value-id': valueId, value: fresh(t.value), 'value-required': false };
    }
    if (t.kind === 'struct') {
      const ids = t.fields.map(() => ++last);
      return { type: 'struct', fields: t.fields.map((f, i) => ({ id: ids[i]!, name: f.name, required: false, type: fresh(f.type) })) };
    }
    throw new Error(`no Iceberg type for ${(t as ColumnType).kind}`);
  };
  // Grows `have` by what `want` adds (struct fields, also inside lists and maps); other differences are not the schema's to change.
  const grow = (have: IcebergType, want: ColumnType, path: string): IcebergType => {
    if (typeof have === 'string') return have;
    if (have.type === 'list' && want.kind === 'array') {
      const element = grow(have.element, want.element, `${path}[]`);
      return element === have.element ? have : { ...have, element };
    }
    if (have.type === 'map' && want.kind === 'map') {
      const value = grow(have.value, want.value, `${path}{}`);
      return value === have.value ? have : { ...have, value };
    }
    if (have.type === 'struct' && want.kind === 'struct') {
      let changed = false;
      const fields = have.fields.map((f) => {
        const w = want.fields.find((x) => x.name === f.name);
        if (!w) return f;
        const type = grow(f.type, w.type, `${path}.${f.name}`);
        if (type === f.type) return f;
        changed = true;
        return { ...f, type };
      });
      for (const w of want.fields) {
        if (have.fields.some((f) => f.name === w.name)) continue;
        fields.push({ id: ++last, name: w.name, required: false, type: fresh(w.type) });
        added.push(`${path}.${w.name}`);
        changed = true;
      }
      return changed ? { ...have, fields } : have;
    }
    return have;
  };
  let changed = false;
  const fields: IcebergField[] = base.fields.map((f) => {
    const c = columns.find((x) => x.name === f.name);
    if (!c) return f;
    const type = grow(f.type, c.type, f.name);
    if (type === f.type) return f;
    changed = true;
    return { ...f, type };
  });
  for (const c of columns) {
    if (base.fields.some((f) => f.name === c.name)) continue;
    const id = ++last;
    fields.push({ id, name: c.name, required: false, type: fresh(c.type), ...(c.comment ? { doc: c.comment } : {}) });
    added.push(c.name);
    changed = true;
  }
  if (!changed) return { schema: base, lastColumnId, added };
  return { schema: { type: 'struct', 'schema-id': base['schema-id'] + 1, fields }, lastColumnId: last, added };
}

/**
 * The layout of a pipeline whose columns are (a subset of) `schema`'s fields: the table's own
 * field ids. A column the schema lacks (declared after the table was created and not yet added to
 * it) gets an id beyond `lastColumnId`, which readers of the table ignore.
 */
function layoutOfSchema(pipeline: Pipeline, schema: IcebergSchema, lastColumnId: number): IcebergLayout {
  const grown = evolveIcebergSchema(schema, lastColumnId, pipeline.columns);
  const fieldIds = idsOfSchema(grown.schema);
  const idOf = (i: number) => fieldIds.get(pipeline.columns[i]!.name)!;
  const { spec, partitionSources } = specOf(pipeline, idOf);
  return { schema: grown.schema, spec, lastColumnId: grown.lastColumnId, lastPartitionId: spec.fields.length ? 999 + spec.fields.length : 999, fieldIds, partitionSources };
}
