/**
 * Schema compatibility, the one home of the rules both local registries (Confluent REST, Glue
 * Schema Registry actions) apply when a new version is registered.
 *
 * - Avro: Avro's own schema resolution, by avsc (`reader.createResolver(writer)` throws when data
 *   written with `writer` cannot be read with `reader`: a field without default added, a type
 *   narrowed, an enum symbol removed without default, …). BACKWARD = the new schema reads data of
 *   the previous one; FORWARD = the previous reads the new; FULL = both; `*_TRANSITIVE` (Glue:
 *   `*_ALL`) = against every earlier version instead of the latest only.
 * - Protobuf: a field number kept with an incompatible wire type, or a proto2 `required` field
 *   added/removed, is incompatible (both directions alike).
 * - JSON Schema: a property whose type changed is incompatible; BACKWARD also refuses a new
 *   required property (old data lacks it), FORWARD a removed one.
 */
import * as avsc from 'avsc';
import * as protobuf from 'protobufjs';

export type SchemaType = 'AVRO' | 'PROTOBUF' | 'JSON';
export type Compatibility = 'NONE' | 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE';
export const COMPATIBILITY_LEVELS: Compatibility[] = ['NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE'];

/** Why `text` is not a valid schema of `type`, or null. */
export function schemaProblem(type: SchemaType, text: string, imports: Record<string, string> = {}): string | null {
  try {
    if (type === 'AVRO') avsc.Type.forSchema(JSON.parse(text));
    else if (type === 'PROTOBUF') protoRoot(text, imports);
    else {
      const v = JSON.parse(text);
      if (typeof v !== 'object' && typeof v !== 'boolean') return 'a JSON Schema is an object or a boolean';
    }
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function protoRoot(text: string, imports: Record<string, string>): protobuf.Root {
  const root = new protobuf.Root();
  const parsed = protobuf.parse(text, root, { keepCase: true });
  for (const f of parsed.imports ?? []) {
    const c = protobuf.common.get(f) as { nested?: Record<string, unknown> } | null;
    if (c?.nested) root.addJSON(c.nested as never);
    else if (imports[f] !== undefined) protobuf.parse(imports[f], root, { keepCase: true });
    else throw new Error(`import "${f}" not found among the references`);
  }
  root.resolveAll();
  return root;
}

/** Why data written with `writer` cannot be read with `reader` (both of `type`), or null. */
export function readProblem(type: SchemaType, reader: string, writer: string): string | null {
  try {
    if (type === 'AVRO') {
      avsc.Type.forSchema(JSON.parse(reader)).createResolver(avsc.Type.forSchema(JSON.parse(writer)));
      return null;
    }
    if (type === 'PROTOBUF') return protobufProblem(reader, writer);
    return jsonProblem(reader, writer);
  } catch (e) {
    return (e as Error).message;
  }
}

const WIRE: Record<string, string> = {
  int32: 'varint', int64: 'varint', uint32: 'varint', uint64: 'varint', bool: 'varint', enum: 'varint',
  sint32: 'zigzag', sint64: 'zigzag', fixed32: 'i32', sfixed32: 'i32', float: 'i32', fixed64: 'i64', sfixed64: 'i64', double: 'i64', string: 'len', bytes: 'len',
};

function protobufProblem(reader: string, writer: string): string | null {
  const r = protoRoot(reader, {});
  const w = protoRoot(writer, {});
  const types = (root: protobuf.Root) => {
    const out = new Map<string, protobuf.Type>();
    const walk = (ns: protobuf.NamespaceBase) => {
      for (const x of ns.nestedArray) {
        if (x instanceof protobuf.Type) out.set(x.fullName, x);
        if (x instanceof protobuf.Namespace || x instanceof protobuf.Type) walk(x as protobuf.NamespaceBase);
      }
    };
    walk(root);
    return out;
  };
  const rt = types(r);
  for (const [name, wt] of types(w)) {
    const other = rt.get(name);
    if (!other) continue;
    for (const wf of wt.fieldsArray) {
      const rf = other.fieldsById[wf.id];
      if (!rf) {
        if (wf.required) return `${name}: required field ${wf.name} = ${wf.id} was removed`;
        continue;
      }
      const kind = (f: protobuf.Field) => (f.resolvedType instanceof protobuf.Type ? `message ${f.resolvedType.fullName}` : f.resolvedType instanceof protobuf.Enum ? 'varint' : (WIRE[f.type] ?? f.type));
      if (kind(rf) !== kind(wf) || rf.repeated !== wf.repeated || rf.map !== wf.map) return `${name}: field ${wf.id} changed from ${wf.type} ${wf.name} to ${rf.type} ${rf.name}`;
    }
    for (const rf of other.fieldsArray) if (rf.required && !wt.fieldsById[rf.id]) return `${name}: required field ${rf.name} = ${rf.id} was added`;
  }
  return null;
}

function jsonProblem(reader: string, writer: string): string | null {
  const r = JSON.parse(reader) as { properties?: Record<string, { type?: unknown }>; required?: string[] };
  const w = JSON.parse(writer) as { properties?: Record<string, { type?: unknown }>; required?: string[] };
  for (const [k, rp] of Object.entries(r.properties ?? {})) {
    const wp = w.properties?.[k];
    if (wp && JSON.stringify(wp.type) !== JSON.stringify(rp.type)) return `property "${k}" changed type from ${JSON.stringify(wp.type)} to ${JSON.stringify(rp.type)}`;
  }
  for (const k of r.required ?? []) if (!(w.required ?? []).includes(k) && !(k in (w.properties ?? {}))) return `required property "${k}" is not in the older schema`;
  return null;
}

/**
 * Checks `candidate` against the earlier versions (oldest first) under `level`.
 * @returns the reasons it is incompatible (empty when compatible)
 */
export function compatibilityProblems(type: SchemaType, level: Compatibility, candidate: string, earlier: string[]): string[] {
  if (level === 'NONE' || earlier.length === 0) return [];
  const against = level.endsWith('_TRANSITIVE') ? earlier : [earlier[earlier.length - 1]!];
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const out: string[] = [];
  for (const old of against) {
    if (backward) {
      const p = readProblem(type, candidate, old);
      if (p) out.push(`the new schema cannot read data written with an earlier version (${level}): ${p}`);
    }
    if (forward) {
      const p = readProblem(type, old, candidate);
      if (p) out.push(`an earlier version cannot read data written with the new schema (${level}): ${p}`);
    }
  }
  return out;
}
