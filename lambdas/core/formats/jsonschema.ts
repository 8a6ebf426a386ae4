/**
 * JSON Schema (draft 4 to 2020-12, the subset that describes record shapes) → columns, for JSON
 * pipelines that declare a schema file or read JSON framed by a registry. Values are decoded and
 * conformed as any JSON value; the schema gives the table its columns and its evolution.
 *
 * | JSON Schema                                   | column type        |
 * |-----------------------------------------------|--------------------|
 * | string (format date-time)                     | timestamp          |
 * | string (format date)                          | date               |
 * | string (contentEncoding base64)               | binary             |
 * | string, other formats                         | string             |
 * | integer                                       | bigint             |
 * | number                                        | double             |
 * | boolean                                       | boolean            |
 * | array with items                              | array<T>           |
 * | object with properties                        | struct<…>          |
 * | object with only additionalProperties schema  | map<string,T>      |
 * | anything else (no type, several types)        | string             |
 *
 * `["T", "null"]`, `anyOf`/`oneOf` with a `null` branch make a column nullable; `required` lists
 * the required properties; local `$ref`s (`#/definitions/…`, `#/$defs/…`) are followed.
 */
import type { ColumnType } from '../types';
import { columnNames, type DerivedColumn } from './columns';
import { SchemaDefinitionError } from './errors';

type Schema = Record<string, unknown> | boolean;

/** Columns of a JSON Schema describing an object. @throws SchemaDefinitionError */
export function jsonSchemaColumns(text: string, where: string): DerivedColumn[] {
  let root: Schema;
  try {
    root = JSON.parse(text) as Schema;
  } catch (e) {
    throw new SchemaDefinitionError(`${where}: the JSON Schema is not JSON: ${(e as Error).message}`);
  }
  const resolve = (s: Schema, seen: string[]): Record<string, unknown> => {
    if (typeof s !== 'object' || s === null) return {};
    const ref = s.$ref;
    if (typeof ref !== 'string') return s;
    if (seen.includes(ref)) throw new SchemaDefinitionError(`${where}: the recursive $ref ${ref} cannot be a column type (a table has a fixed depth)`);
    if (!ref.startsWith('#/')) throw new SchemaDefinitionError(`${where}: only local $refs (#/...) are supported, got ${ref}`);
    let cur: unknown = root;
    for (const part of ref.slice(2).split('/')) cur = (cur as Record<string, unknown>)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    if (cur === undefined) throw new SchemaDefinitionError(`${where}: $ref ${ref} points nowhere`);
    return resolve(cur as Schema, [...seen, ref]);
  };
  /** The type of a schema and whether it admits null. */
  const typeOf = (s0: Schema, path: string, seen: string[]): { type: ColumnType; nullable: boolean } => {
    const s = resolve(s0, seen);
    const ref = typeof (s0 as Record<string, unknown>)?.$ref === 'string' ? [...seen, (s0 as Record<string, string>).$ref] : seen;
    for (const k of ['anyOf', 'oneOf'] as const) {
      const alts = s[k];
      if (Array.isArray(alts)) {
        const nonNull = alts.filter((a) => !(typeof a === 'object' && a && (a as Record<string, unknown>).type === 'null'));
        const nullable = nonNull.length < alts.length;
        if (nonNull.length === 1) return { type: typeOf(nonNull[0] as Schema, path, ref).type, nullable };
        return { type: { kind: 'string' }, nullable };
      }
    }
    let t = s.type;
    let nullable = false;
    if (Array.isArray(t)) {
      nullable = t.includes('null');
      const rest = t.filter((x) => x !== 'null');
      t = rest.length === 1 ? rest[0] : undefined;
      if (rest.length > 1 && rest.every((x) => x === 'integer' || x === 'number')) t = 'number';
    }
    if (t === undefined && typeof s.properties === 'object') t = 'object';
    switch (t) {
      case 'string':
        if (s.format === 'date-time') return { type: { kind: 'timestamp' }, nullable };
        if (s.format === 'date') return { type: { kind: 'date' }, nullable };
        if (s.contentEncoding === 'base64') return { type: { kind: 'binary' }, nullable };
        return { type: { kind: 'string' }, nullable };
      case 'integer':
        return { type: { kind: 'bigint' }, nullable };
      case 'number':
        return { type: { kind: 'double' }, nullable };
      case 'boolean':
        return { type: { kind: 'boolean' }, nullable };
      case 'array': {
        const items = s.items;
        return { type: { kind: 'array', element: items && typeof items === 'object' && !Array.isArray(items) ? typeOf(items as Schema, `${path}[]`, ref).type : { kind: 'string' } }, nullable };
      }
      case 'object': {
        const props = s.properties as Record<string, Schema> | undefined;
        if (props && Object.keys(props).length > 0) {
          const keys = Object.keys(props);
          const names = columnNames(keys, path);
          return { type: { kind: 'struct', fields: keys.map((k, i) => ({ name: names[i], type: typeOf(props[k], `${path}.${k}`, ref).type })) }, nullable };
        }
        const ap = s.additionalProperties;
        return { type: { kind: 'map', value: ap && typeof ap === 'object' ? typeOf(ap as Schema, `${path}{}`, ref).type : { kind: 'string' } }, nullable };
      }
    }
    return { type: { kind: 'string' }, nullable: true };
  };
  const top = resolve(root, []);
  const props = top.properties as Record<string, Schema> | undefined;
  if (!props || typeof props !== 'object') throw new SchemaDefinitionError(`${where}: the JSON Schema must describe an object with properties (each becomes a column)`);
  const required = new Set(Array.isArray(top.required) ? (top.required as string[]) : []);
  const keys = Object.keys(props);
  const names = columnNames(keys, where);
  return keys.map((k, i) => {
    const { type, nullable } = typeOf(props[k], `${where}: ${k}`, []);
    const desc = (props[k] as Record<string, unknown>)?.description;
    return {
      name: names[i],
      type,
      required: required.has(k) && !nullable,
      ...(k !== names[i] ? { source: k } : {}),
      ...(typeof desc === 'string' ? { comment: desc.slice(0, 255) } : {}),
    };
  });
}
