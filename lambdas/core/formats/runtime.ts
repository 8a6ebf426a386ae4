/**
 * The format runtime of one pipeline in a warm container: what prepareBatch needs beyond plain
 * JSON. Before a batch is decoded it
 *
 * 1. reads each record's frame (Confluent or Glue; none for a schema file) and collects the
 *    writer schemas the batch names,
 * 2. fetches those not yet known (once per id per container, concurrent misses coalesced); an
 *    unreachable registry throws {@link SchemaRegistryUnavailableError} and the batch is retried,
 * 3. compiles each writer schema and fits its columns into the table ({@link planEvolution}):
 *    new fields grow the table (`unknownFields: 'evolve'`, in the catalog first), an incompatible
 *    change makes a verdict that quarantines that schema's records with its id and reason,
 * 4. hands prepareBatch the effective pipeline (the table's current columns) and a synchronous
 *    decoder from record to row.
 *
 * Plain JSON with `unknownFields: 'evolve'` comes here too: prepareBatch collects the fields that
 * are not columns and {@link FormatRuntime.evolveFields} types them from their values and grows the
 * table.
 */
// A static import: esbuild keeps only GlueClient; a require() would bundle every Glue command (≈ 260 KB, parsed at every cold start).
import { GlueClient } from '@aws-sdk/client-glue';
import type { Column as GlueColumn } from '@aws-sdk/client-glue';
import { DecodeError, decodeJsonBytes, expectObject, valueSize, DEFAULT_MAX_NESTING_DEPTH, DEFAULT_MAX_VALUE_BYTES, type DecodeLimits } from '../decode';
import { EvolvingTable, glueColumns, glueTableColumns, memoryTableColumns, planEvolution, type NeededColumn, type TableColumnsStore } from '../evolution';
import { icebergTableColumns } from '../iceberg/evolve';
import { icebergLayout } from '../iceberg/schema';
import type { IcebergDeps } from '../iceberg/table';
import type { MskRecord } from '../model';
import type { Pipeline, RecordFormat, Row } from '../pipeline';
import { IDENTIFIER, type ColumnType } from '../types';
import { avroResolutionProblem, compileAvro, readerCompletion, type CompiledAvro } from './avro';
import { columnName, type DerivedColumn } from './columns';
import { SchemaMismatchError } from './errors';
import { jsonSchemaColumns } from './jsonschema';
import { compileProtobuf, type CompiledProto } from './protobuf';
import { CachedSchemaSource, ConfluentSchemaRegistry, GlueSchemaRegistry, secretsManagerCredentials, UnknownSchemaError, type SchemaSource, type WriterSchema } from './registry';
import { parseConfluentFrame, parseGlueFrame, readGlueMessageIndex } from './wire';

/** How prepareBatch decodes a batch's records after {@link FormatRuntime.resolve}. */
export interface ResolvedBatch {
  /** The pipeline with the table's current columns. */
  pipeline: Pipeline;
  /** Record → row (the value, plus `$key` when keys are decoded); undefined: plain JSON, prepareBatch decodes it. */
  decode?: (rec: MskRecord) => unknown;
}

export interface FormatRuntimeOptions {
  /** Glue client: Glue Schema Registry lookups and the table's evolution. */
  glue?: Pick<GlueClient, 'send'>;
  /** Glue database of the table; with `glue`, the table evolves in the catalog (else in memory). */
  database?: string;
  /** Client settings for the AWS SDK clients the runtime creates (Secrets Manager). */
  aws?: { region?: string; endpoint?: string };
  /** Replaces the registry client (tests). */
  source?: SchemaSource;
  /** Replaces the table store (tests). */
  table?: TableColumnsStore;
  /** An Iceberg table's store and catalog: the table evolves through Iceberg commits (the Glue table's columns follow). */
  iceberg?: IcebergDeps;
}

/** One writer schema compiled for decoding, with its verdict against the table. */
interface Writer {
  label: string;
  /** Why records of this schema are quarantined; null when they load. */
  problem: Error | null;
  needed: NeededColumn[];
  present: Set<string>;
  decode(payload: Uint8Array, messageIndexes: number[] | null): Row;
}

/**
 * A record's parsed frame (or why it has none). `id` keys the writer: the schema id, and for
 * Protobuf the message indexes too (`7#1.0`), since one schema holds several message types.
 */
type Framed = { id: string; payload: Uint8Array; indexes: number[] | null } | Error;
const writerKey = (schemaId: string, indexes: number[] | null) => (indexes === null ? schemaId : `${schemaId}#${indexes.join('.')}`);

const fileId = 'file';

/** Whether a pipeline needs a format runtime (anything but plain JSON that ignores or quarantines unknown fields). */
export function needsRuntime(p: Pipeline): boolean {
  return p.valueFormat !== 'json' || p.schemaRegistry !== undefined || p.keyFormat !== undefined || p.unknownFields === 'evolve';
}

/** The type a JSON value suggests for a new column (`unknownFields: 'evolve'`), or null when it tells nothing (null, an empty array). */
export function inferColumnType(v: unknown): ColumnType | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return { kind: 'string' };
  if (typeof v === 'boolean') return { kind: 'boolean' };
  if (typeof v === 'bigint') return { kind: 'bigint' };
  if (typeof v === 'number') return Number.isInteger(v) ? { kind: 'bigint' } : { kind: 'double' };
  if (Array.isArray(v)) {
    const first = v.find((x) => x !== null && x !== undefined);
    const element = first === undefined ? null : inferColumnType(first);
    return element === null ? null : { kind: 'array', element };
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length > 0 && keys.every((k) => IDENTIFIER.test(k))) {
      const fields = keys.map((k) => ({ name: k, type: inferColumnType(o[k]) ?? ({ kind: 'string' } as ColumnType) }));
      return { kind: 'struct', fields };
    }
    return keys.length === 0 ? null : { kind: 'map', value: { kind: 'string' } };
  }
  return null;
}

export class FormatRuntime {
  private readonly table: EvolvingTable;
  private readonly source: SchemaSource | null;
  private readonly writers = new Map<string, Writer>();
  private readonly limits: DecodeLimits;
  /** The schema file compiled as the reader (Avro) / the schema (unframed values). */
  private fileSchema?: { avro?: CompiledAvro; proto?: CompiledProto };

  constructor(
    readonly pipeline: Pipeline,
    opts: FormatRuntimeOptions = {},
  ) {
    const store = opts.table ?? tableStore(pipeline, opts);
    this.table = new EvolvingTable(pipeline, store);
    this.limits = { maxValueBytes: pipeline.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES, maxNestingDepth: pipeline.maxNestingDepth ?? DEFAULT_MAX_NESTING_DEPTH };
    const r = pipeline.schemaRegistry;
    let source: SchemaSource | null = opts.source ?? null;
    if (!source && r?.type === 'confluent') {
      const aws = { ...(opts.aws?.region ? { region: opts.aws.region } : {}), ...(opts.aws?.endpoint ? { endpoint: opts.aws.endpoint } : {}) };
      source = new ConfluentSchemaRegistry({ url: r.url, ...(r.credentialsSecret ? { credentials: secretsManagerCredentials(r.credentialsSecret, aws) } : {}) });
    } else if (!source && r?.type === 'glue') {
      let glue = opts.glue;
      if (!glue) {
        glue = new GlueClient({ ...(opts.aws?.region ? { region: opts.aws.region } : {}), ...(opts.aws?.endpoint ? { endpoint: opts.aws.endpoint } : {}) });
      }
      source = new GlueSchemaRegistry(glue, r.registryName);
    }
    this.source = source ? new CachedSchemaSource(source) : null;
  }

  /** Fetches made from the registry (each id once per container). */
  get registryFetches(): number {
    return this.source instanceof CachedSchemaSource ? this.source.fetches : 0;
  }

  /**
   * Prepares a batch: frames, writer schemas (fetched), verdicts and the table's evolution.
   * @throws SchemaRegistryUnavailableError when the registry cannot answer; TableEvolutionError when the catalog cannot be read or changed
   */
  async resolve(records: MskRecord[]): Promise<ResolvedBatch> {
    const p = this.pipeline;
    if (p.valueFormat === 'json' && !p.schemaRegistry && p.keyFormat === undefined) return { pipeline: await this.table.current() };
    await this.table.current();
    const values = new Map<MskRecord, Framed>();
    const keys = new Map<MskRecord, Framed | string>();
    const ids = new Set<string>();
    for (const rec of records) {
      const size = valueSize(rec.value, this.limits);
      if (typeof size === 'number') {
        const f = this.frame(Buffer.from(rec.value!, 'base64'), p.valueFormat, 'value');
        values.set(rec, f);
        if (!(f instanceof Error)) ids.add(f.id);
      }
      if (p.keyFormat !== undefined && rec.key) {
        const bytes = Buffer.from(rec.key, 'base64');
        if (p.keyFormat === 'string') keys.set(rec, bytes.toString('utf8'));
        else {
          const f = this.frame(bytes, p.keyFormat, 'key');
          keys.set(rec, f);
          if (!(f instanceof Error) && f.id !== fileId) ids.add(f.id);
        }
      }
    }
    // 2. Writer schemas: fetched concurrently, once per id.
    const fresh = [...ids].filter((id) => !this.writers.has(id));
    const fetched = await Promise.all(fresh.map(async (id) => [id, await this.fetch(id)] as const));
    // 3. Compile and judge each against the table; grow the table by what the loadable ones add.
    const grow: NeededColumn[] = [];
    for (const [id, w] of fetched) {
      this.writers.set(id, w);
      if (w.problem === null) grow.push(...w.needed);
    }
    const current = this.table.currentColumns;
    const evolving = p.unknownFields === 'evolve' && !p.transform;
    if (fresh.length > 0) {
      for (const [id, w] of fetched) {
        if (w.problem !== null || !values.size) continue;
        if (p.transform) continue; // the transform's rows, not the writer schema, meet the columns
        const plan = planEvolution(current, w.needed, p.unknownFields, w.present);
        if (plan.problem) {
          w.problem = new SchemaMismatchError(`${w.label}: ${plan.problem}`);
          void id;
        }
      }
      const loadable = fetched.filter(([, w]) => w.problem === null).flatMap(([, w]) => w.needed);
      if (evolving && loadable.length > 0 && planNeedsChange(current, loadable)) await this.table.grow(loadable);
    }
    const pipeline = await this.table.current();
    const decodeKey = (rec: MskRecord): unknown => {
      const k = keys.get(rec);
      if (k === undefined) return null;
      if (typeof k === 'string') return k;
      if (k instanceof Error) throw new DecodeError(`key: ${k.message}`);
      const w = this.writers.get(k.id)!;
      if (w.problem) throw w.problem instanceof DecodeError ? new DecodeError(`key: ${w.problem.message}`) : w.problem;
      const row = w.decode(k.payload, k.indexes);
      return 'value' in row && Object.keys(row).length === 1 ? row.value : row;
    };
    return {
      pipeline,
      decode: (rec) => {
        const size = valueSize(rec.value, this.limits);
        if (typeof size !== 'number') throw size;
        const f = values.get(rec)!;
        if (f instanceof Error) throw f;
        const w = this.writers.get(f.id)!;
        if (w.problem) throw w.problem;
        const row = w.decode(f.payload, f.indexes);
        if (p.keyFormat !== undefined) row.$key = decodeKey(rec);
        return row;
      },
    };
  }

  /**
   * Grows the table by fields of JSON rows that are not columns (`unknownFields: 'evolve'`), typed
   * from their first non-null value.
   * @returns the pipeline with the grown table, or null when nothing could be typed
   */
  async evolveFields(fields: Map<string, unknown>): Promise<Pipeline | null> {
    const needed: NeededColumn[] = [];
    const taken = new Set(this.table.currentColumns.map((c) => c.name));
    for (const [field, value] of fields) {
      const type = inferColumnType(value);
      if (type === null) continue;
      const name = columnName(field);
      if (taken.has(name)) continue; // `userId` when a column `userid` exists: the conformer reports it
      taken.add(name);
      needed.push({ name, type, field, comment: 'added by schema evolution (unknownFields: evolve)' });
    }
    if (needed.length === 0) return null;
    return this.table.grow(needed);
  }

  /** The table's current pipeline. */
  current(): Promise<Pipeline> {
    return this.table.current();
  }

  private frame(bytes: Buffer, format: RecordFormat, what: 'value' | 'key'): Framed {
    const r = this.pipeline.schemaRegistry;
    try {
      if (!r) return { id: fileId, payload: bytes, indexes: null };
      if (r.type === 'confluent') {
        const f = parseConfluentFrame(bytes, format === 'protobuf');
        const indexes = format === 'protobuf' ? f.messageIndexes : null;
        return { id: writerKey(String(f.schemaId), indexes), payload: f.payload, indexes };
      }
      const g = parseGlueFrame(bytes);
      if (format === 'protobuf') {
        const m = readGlueMessageIndex(g.payload, g.schemaVersionId);
        return { id: writerKey(g.schemaVersionId, [m.index]), payload: m.payload, indexes: [m.index] };
      }
      return { id: g.schemaVersionId, payload: g.payload, indexes: null };
    } catch (e) {
      if (e instanceof DecodeError) return what === 'key' ? new DecodeError(e.message) : e;
      throw e;
    }
  }

  private async fetch(key: string): Promise<Writer> {
    if (key === fileId) return this.compile({ label: this.pipeline.schema?.path ?? 'schema file', format: toRegistryFormat(this.pipeline.valueFormat), text: this.pipeline.schema?.text ?? '', imports: {} }, this.pipeline.valueFormat, null);
    const [id, path] = key.split('#');
    const indexes = path === undefined ? null : path.split('.').map(Number);
    let schema: WriterSchema;
    try {
      schema = await this.source!.get(id!);
    } catch (e) {
      if (e instanceof UnknownSchemaError) return broken(`schema ${id}`, new DecodeError(e.message));
      throw e;
    }
    return this.compile(schema, fromRegistryFormat(schema.format), indexes);
  }

  private compile(schema: WriterSchema, format: RecordFormat, indexes: number[] | null): Writer {
    const label = schema.label;
    try {
      if (format === 'avro') {
        const w = compileAvro(schema.text, label);
        let complete: ((row: Row) => void) | null = null;
        let problem: Error | null = null;
        const reader = this.readerAvro();
        if (reader && reader !== w) {
          const why = avroResolutionProblem(reader, w);
          if (why) problem = new SchemaMismatchError(`${label}: incompatible with the reader schema ${this.pipeline.schema!.path} under Avro's resolution rules: ${why}`);
          else complete = readerCompletion(reader, w);
        }
        const needed = needs(w.columns, false);
        return {
          label,
          problem,
          needed,
          present: new Set([...w.columns.map((c) => c.name), ...(reader ? [...reader.fieldsByColumn.keys()].filter((n) => reader.fieldsByColumn.get(n)!.hasDefault) : [])]),
          decode: complete === null ? (payload) => w.decode(payload) : (payload) => {
            const row = w.decode(payload);
            complete!(row);
            return row;
          },
        };
      }
      if (format === 'protobuf') {
        const proto = compileProtobuf(schema.text, label, schema.imports);
        const glue = this.pipeline.schemaRegistry?.type === 'glue';
        // The message the frame names (Confluent: index path; Glue: index in name order), or the declared one.
        const m = indexes === null ? proto.byName(this.pipeline.schema?.message) : glue ? proto.byGlueIndex(indexes[0]!) : proto.byIndexes(indexes);
        const wanted = this.pipeline.schema?.message;
        return {
          label: `${label} (${m.name})`,
          problem: wanted && this.pipeline.schemaRegistry && m.name !== wanted ? new SchemaMismatchError(`${label}: the record is a ${m.name} message, the table loads ${wanted}`) : null,
          needed: needs(m.columns, false),
          present: new Set(m.columns.map((c) => c.name)),
          decode: (payload) => m.decode(payload),
        };
      }
      // JSON framed by a registry (JSON Schema) or the pipeline's JSON schema file.
      const cols = schema.text ? safeJsonColumns(schema.text, label) : [];
      return {
        label,
        problem: null,
        needed: needs(cols, true),
        present: new Set(cols.map((c) => c.source ?? c.name)),
        decode: (payload) => expectObject(decodeJsonBytes(payload, this.limits)),
      };
    } catch (e) {
      return broken(label, new DecodeError(`${label} cannot be read: ${(e as Error).message}`));
    }
  }

  private readerAvro(): CompiledAvro | undefined {
    const s = this.pipeline.schema;
    if (this.pipeline.valueFormat !== 'avro' || !s || !this.pipeline.schemaRegistry) return undefined;
    this.fileSchema ??= { avro: compileAvro(s.text, s.path) };
    return this.fileSchema.avro;
  }
}

/** Where the runtime's table evolves: the Iceberg table, the Glue (Hive) table, or memory. */
function tableStore(pipeline: Pipeline, opts: FormatRuntimeOptions): TableColumnsStore {
  if (pipeline.format === 'iceberg') {
    if (opts.iceberg) return icebergTableColumns(opts.iceberg);
    const l = icebergLayout(pipeline);
    return memoryTableColumns(glueColumns(pipeline.columns), { schema: l.schema, lastColumnId: l.lastColumnId });
  }
  return opts.glue && opts.database ? glueTableColumns(opts.glue, opts.database, pipeline.name) : memoryTableColumns(glueColumns(pipeline.columns));
}

function safeJsonColumns(text: string, label: string): DerivedColumn[] {
  try {
    return jsonSchemaColumns(text, label);
  } catch {
    return []; // a JSON Schema that does not describe an object's properties: nothing to evolve by
  }
}

/** The columns a writer schema needs; JSON columns read their original field names. */
function needs(cols: DerivedColumn[], json: boolean): NeededColumn[] {
  return cols.map((c) => ({ name: c.name, type: c.type, ...(json && c.source ? { field: c.source } : {}), ...(c.comment ? { comment: c.comment } : {}) }));
}

function broken(label: string, problem: Error): Writer {
  return {
    label,
    problem,
    needed: [],
    present: new Set(),
    decode: () => {
      throw problem;
    },
  };
}

function planNeedsChange(current: Parameters<typeof planEvolution>[0], needed: NeededColumn[]): boolean {
  const plan = planEvolution(current, needed, 'evolve');
  return plan.add.length > 0 || plan.widen.size > 0;
}

const toRegistryFormat = (f: RecordFormat): WriterSchema['format'] => (f === 'avro' ? 'AVRO' : f === 'protobuf' ? 'PROTOBUF' : 'JSON');
const fromRegistryFormat = (f: WriterSchema['format']): RecordFormat => (f === 'AVRO' ? 'avro' : f === 'PROTOBUF' ? 'protobuf' : 'json');

/** Columns of a Glue table as a pipeline's declared columns would write them (for tests). */
export function catalogColumnsOf(p: Pipeline): GlueColumn[] {
  return glueColumns(p.columns);
}
