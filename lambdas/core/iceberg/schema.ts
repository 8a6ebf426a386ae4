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
    default:
      return null;
  }
};

const layouts = new WeakMap<Pipeline, IcebergLayout>();

/** The Iceberg layout of a pipeline (computed once per pipeline). */
export function icebergLayout(pipeline: Pipeline): IcebergLayout {
  const hit = layouts.get(pipeline);
  if (hit) return hit;
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
  const p = pipeline.partitioning;
  const specFields: PartitionField[] = [];
  const partitionSources: number[] = [];
  if (p.by === 'eventTime') {
    const source = 'column' in p.source ? p.source.column : '_kafka_ts';
    const idx = pipeline.columns.findIndex((c) => c.name === source);
    const transform = p.granularity === 'hour' ? 'hour' : 'day';
    specFields.push({ 'source-id': idx + 1, 'field-id': 1000, name: `${source}_${transform}`, transform });
    partitionSources.push(idx);
  } else if (p.by === 'columns') {
    p.columns.forEach((c, i) => {
      const idx = pipeline.columns.indexOf(c);
      specFields.push({ 'source-id': idx + 1, 'field-id': 1000 + i, name: c.name, transform: 'identity' });
      partitionSources.push(idx);
    });
  }
  const layout: IcebergLayout = {
    schema: { type: 'struct', 'schema-id': 0, fields },
    spec: { 'spec-id': 0, fields: specFields },
    lastColumnId: next,
    lastPartitionId: specFields.length ? 999 + specFields.length : 999,
    fieldIds,
    partitionSources,
  };
  layouts.set(pipeline, layout);
  return layout;
}

/** The Iceberg type of a partition field's values (for the manifests' partition struct). */
export function partitionFieldType(pipeline: Pipeline, field: PartitionField): string {
  if (field.transform === 'hour') return 'int';
  if (field.transform === 'day') return 'date';
  const col = pipeline.columns[field['source-id'] - 1]!;
  return primitive(col.type) ?? 'string';
}
