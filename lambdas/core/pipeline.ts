/**
 * Pipeline declarations: one per table, read by the loader Lambda (schema, partitioning,
 * transform) and by the CDK app and the local provisioner (Glue table, topics, IAM scope).
 *
 * A declaration is plain data plus an optional transform function. `definePipeline` validates it
 * and returns the normalized {@link Pipeline} every other module works with; an invalid
 * declaration throws a {@link PipelineDeclarationError} that says what to fix.
 */
import { ColumnType, ColumnTypeError, IDENTIFIER, formatColumnType, parseColumnType } from './types';
import { LakeloaderError } from './errors';
import { deriveSchemaColumns, readSchemaFile, SCHEMA_FILE_EXTENSIONS } from './formats/schema-file';
import type { IcebergSchema } from './iceberg/schema';

/** Where a Kafka record came from, handed to a transform next to the decoded value. */
export interface RecordMeta {
  topic: string;
  partition: number;
  offset: number;
  /** Kafka record timestamp, epoch milliseconds. */
  timestamp: number;
  timestampType: string;
  /** The raw key bytes, or null when the record has no key. */
  key: Uint8Array | null;
  headers: { key: string; value: Uint8Array }[];
}

/** A row as produced by decoding or a transform: column (or JSON field) name → JSON value. */
export type Row = Record<string, unknown>;

/** A decoded JSON value: what a JSON pipeline's transform receives (decoding quarantines anything but an object). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * A transform turns one decoded JSON value into 0..n rows. Return `null` (or `[]`) to filter the
 * record out. A transform that throws, or returns anything but an object, an array of objects or
 * null, sends the record to the quarantine with stage `transform`.
 *
 * Declared with {@link definePipeline}, its row type follows the declared columns ({@link RowOf})
 * and its input defaults to {@link JsonObject}; annotate the parameter to name your own shape.
 */
export type Transform<In = JsonObject, Out extends Row = Row> = (value: In, meta: RecordMeta) => Out | Out[] | null | undefined;

/** The JavaScript values a column of Glue type `T` accepts from a row (see conform.ts). */
export type ColumnValue<T extends string> = T extends 'string'
  ? string
  : T extends 'boolean'
    ? boolean
    : T extends 'int' | 'integer' | 'float' | 'real' | 'double'
      ? number
      : T extends 'bigint' | 'long'
        ? bigint | number | string
        : T extends 'timestamp'
          ? string | number | Date
          : T extends 'date'
            ? string | Date
            : T extends 'binary'
              ? Uint8Array | string
            : T extends `decimal(${string})`
              ? number | string
              : T extends `array<${string}>`
                ? unknown[]
                : T extends `map<${string}>` | `struct<${string}>`
                  ? Record<string, unknown>
                  : unknown;

type FieldOf<C> = C extends { field: infer F extends string } ? F : C extends { name: infer N extends string } ? N : never;

/**
 * The row a transform returns for the declared columns `C`: each column's field typed by its Glue
 * type, or null. Presence is not typed: a row that lacks a required column is quarantined at run
 * time with that reason, so a transform may pass on what it cannot vouch for. Other keys are
 * allowed (the pipeline's `unknownFields` decides what becomes of them).
 */
export type RowOf<C extends readonly ColumnDeclaration[]> = { [K in C[number] as FieldOf<K>]?: ColumnValue<K['type']> | null } & Row;

export interface ColumnDeclaration {
  /** Column name: lower case, `[a-z_][a-z0-9_]*` (Athena lower-cases names anyway). */
  name: string;
  /** Glue/Athena type, e.g. `string`, `bigint`, `decimal(12,2)`, `map<string,string>`. */
  type: string;
  /** A row without a value for a required column is quarantined. @default false */
  required?: boolean;
  /** The top-level JSON field the value comes from. @default the column name */
  field?: string;
  /** Shown in the Glue catalog. */
  comment?: string;
}

export type PartitioningDeclaration =
  | {
      /** Event-time partitions `dt=YYYY-MM-DD` (day) or `dt=YYYY-MM-DD/hour=HH` (hour), UTC. */
      by: 'eventTime';
      /** A `timestamp` or `date` column, or `$kafkaTimestamp` for the record's Kafka timestamp. */
      source: string;
      granularity: 'day' | 'hour';
    }
  | {
      /** Plain column partitions, in order; the columns become partition keys (not file columns). */
      by: 'columns';
      columns: string[];
    }
  | { by: 'none' };

/** Where writer schemas come from: a Confluent Schema Registry or an AWS Glue Schema Registry. */
export type SchemaRegistryDeclaration =
  | {
      type: 'confluent';
      /** Base URL of the registry, `https://…` (or `http://` inside a VPC / locally). */
      url: string;
      /** Secrets Manager secret (ARN or name) holding `{"username", "password"}` for basic auth. @default none (no auth) */
      credentialsSecret?: string;
    }
  | {
      type: 'glue';
      /** The Glue Schema Registry's name. */
      registryName: string;
    };

/** The record formats of values and keys. */
export type RecordFormat = 'json' | 'avro' | 'protobuf';

export interface PipelineDeclaration<C extends readonly ColumnDeclaration[] = ColumnDeclaration[], In = JsonObject> {
  /** Table name: `[a-z][a-z0-9_]*`, at most 64 characters. */
  name: string;
  /** Kafka topics read into this table. */
  topics: string[];
  /**
   * How record values are encoded. Avro and Protobuf need `schemaRegistry` (values framed by the
   * registry's serializer, each naming its writer schema) or `schemaFile` (unframed values, all
   * written with that schema); JSON may be framed by a registry too (JSON Schema).
   */
  valueFormat: RecordFormat;
  /**
   * How record keys are decoded; the decoded key is the row field `$key` (declare a column with
   * `field: '$key'` to keep it) and the transform's `meta.keyValue`. `string` is UTF-8 text;
   * `avro`/`protobuf` need `schemaRegistry` (subject `<topic>-key`). @default the key is not decoded
   */
  keyFormat?: RecordFormat | 'string';
  /** The schema registry framing the values (and keys). @default none: values are not framed */
  schemaRegistry?: SchemaRegistryDeclaration;
  /**
   * A schema in the repository (`.avsc`, `.proto`, or a JSON Schema `.json`), relative to the project
   * root: the schema of unframed values, the reader schema of framed Avro, and — when `columns` is
   * omitted — where the columns come from (derived at synth time, offline).
   */
  schemaFile?: string;
  /** The Protobuf message of `schemaFile` the values are (full name, `shop.Order`). @default its first message */
  protobufMessage?: string;
  /** The table's columns. @default derived from `schemaFile` */
  columns?: C;
  partitioning: PartitioningDeclaration;
  /** Optional transform from the decoded JSON value to 0..n rows. @default the value is the row */
  transform?: Transform<In, RowOf<C>>;
  /** Keep `_topic string, _partition int, _offset bigint, _kafka_ts timestamp` as the last columns. @default true */
  keepKafkaCoordinates?: boolean;
  /** Parquet compression. @default 'snappy' */
  compression?: 'snappy' | 'zstd';
  /**
   * How Athena learns the partitions: `glue` registers each new partition with
   * BatchCreatePartition; `projection` uses Athena partition projection (nothing registered).
   * @default 'glue'
   */
  partitionRegistration?: 'glue' | 'projection';
  /**
   * First day partition projection enumerates (YYYY-MM-DD); the range is `<this>,NOW`. A record
   * dated before it, or more than a day after the loader's clock, is quarantined (stage
   * `partition`): Athena would not read its partition. @default '2020-01-01'
   */
  projectionStartDate?: string;
  /**
   * Fields that are not columns — of a row, or of a new writer schema: `ignore` leaves them out,
   * `evolve` appends them to the table as new columns (old rows read them as null), `quarantine`
   * sends the record to the quarantine. (`drop` is an older name of `ignore`.)
   * @default 'evolve' for Avro, Protobuf and registry-framed JSON; 'ignore' for plain JSON
   */
  unknownFields?: 'ignore' | 'evolve' | 'quarantine' | 'drop';
  /** A record value larger than this many bytes is quarantined (stage `decode`). @default 1048576 (1 MiB) */
  maxValueBytes?: number;
  /** A JSON value nested deeper than this many arrays/objects is quarantined (stage `decode`). @default 100 */
  maxNestingDepth?: number;
  /** Shown in the Glue catalog. */
  description?: string;
  /**
   * The table format. `iceberg` (format v2): hidden partitioning, readers see only committed
   * snapshots, small files compacted by the Glue Data Catalog's optimizers; `hive`: plain
   * Parquet partitions registered in Glue. @default 'iceberg'
   */
  format?: TableFormat;
  /** Iceberg settings (ignored for Hive tables). */
  iceberg?: IcebergDeclaration;
}

export type TableFormat = 'iceberg' | 'hive';

/** How an Iceberg table is committed and maintained. */
export interface IcebergDeclaration {
  /**
   * A loader publishes the staged batches as a snapshot when the table's last snapshot is older
   * than this; a scheduled committer (every minute) publishes what is left. Lower is fresher and
   * costs more catalog commits. @default 60
   */
  commitIntervalSeconds?: number;
  /** The Glue Data Catalog table optimizers the stack enables. @default every one, with their defaults */
  optimizers?: {
    /** Bin-pack small data files. @default true */
    compaction?: boolean;
    /** Expire old snapshots. @default { snapshotRetentionPeriodInDays: 5, numberOfSnapshotsToRetain: 1 } (the optimizer's defaults) */
    snapshotRetention?: { snapshotRetentionPeriodInDays?: number; numberOfSnapshotsToRetain?: number } | false;
    /** Delete files no snapshot references. @default { orphanFileRetentionPeriodInDays: 3 } */
    orphanFileDeletion?: { orphanFileRetentionPeriodInDays?: number } | false;
  };
}

/** A validated column. */
export interface Column {
  name: string;
  type: ColumnType;
  /** The type as written in Glue (canonical form). */
  glueType: string;
  required: boolean;
  /** The JSON field the value comes from; for Kafka coordinate columns, unused. */
  field: string;
  /** Set on the Kafka coordinate columns, whose values come from the record, not the row. */
  kafka?: 'topic' | 'partition' | 'offset' | 'timestamp';
  comment?: string;
}

export interface PartitionKey {
  name: string;
  /** Glue type of the partition key (always a primitive). */
  glueType: string;
}

export type Partitioning =
  | { by: 'eventTime'; source: { column: string } | { kafkaTimestamp: true }; granularity: 'day' | 'hour' }
  | { by: 'columns'; columns: Column[] }
  | { by: 'none' };

/** A validated, normalized pipeline: what the loader, the CDK app and the local endpoint read. */
export interface Pipeline {
  name: string;
  topics: string[];
  valueFormat: RecordFormat;
  keyFormat?: RecordFormat | 'string';
  schemaRegistry?: SchemaRegistryDeclaration;
  /** The declared schema file (`schemaFile`) with its text, read when the pipeline is defined. */
  schema?: { path: string; text: string; message?: string };
  /** The columns of each Parquet file, in order: declared columns (minus column partition keys), then Kafka coordinates. */
  columns: Column[];
  partitionKeys: PartitionKey[];
  partitioning: Partitioning;
  transform?: Transform<unknown>;
  keepKafkaCoordinates: boolean;
  compression: 'snappy' | 'zstd';
  partitionRegistration: 'glue' | 'projection';
  projectionStartDate: string;
  unknownFields: 'ignore' | 'evolve' | 'quarantine';
  /** Largest record value in bytes; larger values are quarantined. @default 1048576 */
  maxValueBytes?: number;
  /** Deepest JSON nesting accepted; deeper values are quarantined. @default 100 */
  maxNestingDepth?: number;
  description?: string;
  format: TableFormat;
  iceberg: Required<Pick<IcebergDeclaration, 'commitIntervalSeconds'>> & {
    optimizers: {
      compaction: boolean;
      snapshotRetention: { snapshotRetentionPeriodInDays: number; numberOfSnapshotsToRetain: number } | false;
      orphanFileDeletion: { orphanFileRetentionPeriodInDays: number } | false;
    };
  };
  /**
   * The Iceberg table's current schema when the table has grown beyond the declaration (set by
   * the loader on the effective pipeline of an evolved table, never by a declaration): the field
   * ids the data files carry come from it.
   */
  icebergSchema?: { schema: IcebergSchema; lastColumnId: number };
}

/**
 * The Glue partition keys of a table: none for an Iceberg table (its partitioning is hidden);
 * for a Hive table `dt` (and `hour`) for event-time partitioning, the partition columns, or none.
 */
export function partitionKeysFor(partitioning: Partitioning, format: TableFormat): PartitionKey[] {
  if (format === 'iceberg') return [];
  switch (partitioning.by) {
    case 'eventTime':
      return partitioning.granularity === 'hour' ? [{ name: 'dt', glueType: 'string' }, { name: 'hour', glueType: 'string' }] : [{ name: 'dt', glueType: 'string' }];
    case 'columns':
      return partitioning.columns.map((c) => ({ name: c.name, glueType: c.glueType }));
    case 'none':
      return [];
  }
}

/** An invalid pipeline declaration; the message names the pipeline, the field and what to set. */
export class PipelineDeclarationError extends LakeloaderError {
  readonly code = 'PIPELINE_DECLARATION';
  constructor(pipeline: string, message: string) {
    super(`pipeline "${pipeline}": ${message}`);
  }
}

export const KAFKA_COLUMNS: ReadonlyArray<{ name: string; type: string; kafka: Column['kafka'] }> = [
  { name: '_topic', type: 'string', kafka: 'topic' },
  { name: '_partition', type: 'int', kafka: 'partition' },
  { name: '_offset', type: 'bigint', kafka: 'offset' },
  { name: '_kafka_ts', type: 'timestamp', kafka: 'timestamp' },
];

export const KAFKA_TIMESTAMP_SOURCE = '$kafkaTimestamp';
const TABLE_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const PARTITION_KEY_TYPES = new Set(['string', 'int', 'bigint', 'boolean', 'date']);

/** Marks the objects {@link definePipeline} returns, so that tools can find them among a module's exports. */
export const PIPELINE_BRAND = Symbol.for('lakeloader.pipeline');

/** True for a value {@link definePipeline} returned (also across module instances). */
export function isPipeline(v: unknown): v is Pipeline {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[PIPELINE_BRAND] === true;
}

/**
 * Validates a declaration and returns the normalized pipeline.
 * @throws PipelineDeclarationError naming the field to fix.
 */
export function definePipeline<const C extends readonly ColumnDeclaration[], In = JsonObject>(decl: PipelineDeclaration<C, In>): Pipeline {
  return Object.defineProperty(normalize(decl as unknown as PipelineDeclaration), PIPELINE_BRAND, { value: true, enumerable: false });
}

function normalize(decl: PipelineDeclaration): Pipeline {
  const name = typeof decl?.name === 'string' ? decl.name : '(unnamed)';
  const fail = (msg: string): never => {
    throw new PipelineDeclarationError(name, msg);
  };
  if (!TABLE_NAME.test(name)) fail(`name must match ${TABLE_NAME} (lower case letters, digits, _), got "${name}"`);
  if (!Array.isArray(decl.topics) || decl.topics.length === 0) fail('set topics to a non-empty list of Kafka topic names');
  for (const t of decl.topics) if (typeof t !== 'string' || !TOPIC_NAME.test(t)) fail(`topic "${t}" is not a valid Kafka topic name (${TOPIC_NAME})`);
  if (new Set(decl.topics).size !== decl.topics.length) fail('topics contains a duplicate');
  const formats = normalizeFormats(decl, fail);
  if (decl.transform !== undefined && typeof decl.transform !== 'function') fail('transform must be a function (value, meta) => row | row[] | null');
  const keepKafkaCoordinates = decl.keepKafkaCoordinates ?? true;
  const compression = decl.compression ?? 'snappy';
  if (compression !== 'snappy' && compression !== 'zstd') fail(`compression must be 'snappy' or 'zstd', got "${String(compression)}"`);
  const partitionRegistration = decl.partitionRegistration ?? 'glue';
  if (partitionRegistration !== 'glue' && partitionRegistration !== 'projection')
    fail(`partitionRegistration must be 'glue' or 'projection', got "${String(partitionRegistration)}"`);
  const projectionStartDate = decl.projectionStartDate ?? '2020-01-01';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(projectionStartDate)) fail(`projectionStartDate must be YYYY-MM-DD, got "${projectionStartDate}"`);
  const framedOrTyped = decl.valueFormat !== 'json' || decl.schemaRegistry !== undefined;
  // Typed and registry-framed values evolve the table by default (Hive: Glue columns appended;
  // Iceberg: a new schema with new field ids, iceberg/evolve.ts); a transform's rows do not follow
  // the writer schema, so they do not.
  const unknownFields = decl.unknownFields === 'drop' ? 'ignore' : (decl.unknownFields ?? (framedOrTyped && !decl.transform ? 'evolve' : 'ignore'));
  if (unknownFields !== 'ignore' && unknownFields !== 'evolve' && unknownFields !== 'quarantine') fail(`unknownFields must be 'ignore', 'evolve' or 'quarantine', got "${String(unknownFields)}"`);
  if (unknownFields === 'evolve' && decl.transform && decl.valueFormat !== 'json')
    fail(`unknownFields 'evolve' grows the table from the writer schema, which a transform's rows do not follow: remove the transform or set unknownFields to 'ignore' or 'quarantine'`);
  for (const k of ['maxValueBytes', 'maxNestingDepth'] as const) {
    const v = decl[k];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 1)) fail(`${k} must be a positive integer, got ${String(v)}`);
  }

  const format = decl.format ?? 'iceberg';
  if (format !== 'iceberg' && format !== 'hive') fail(`format must be 'iceberg' or 'hive', got "${String(format)}"`);
  const iceberg = normalizeIceberg(decl.iceberg, fail);
  if (format === 'iceberg' && partitionRegistration === 'projection') fail("partitionRegistration: 'projection' is a Hive table setting; Iceberg tables need no registration (drop it, or set format: 'hive')");

  let declaredColumns = decl.columns as readonly ColumnDeclaration[] | undefined;
  if (declaredColumns === undefined && formats.schemaFile) declaredColumns = formats.derived!;
  if (!Array.isArray(declaredColumns) || declaredColumns.length === 0) fail('set columns to a non-empty list of { name, type }, or schemaFile to derive them from a schema');
  if (decl.columns !== undefined && formats.derived) {
    const fields = new Set(formats.derived.map((c) => c.field ?? c.name));
    for (const c of declaredColumns!) {
      const f = c.field ?? c.name;
      if (!f.startsWith('$') && !fields.has(f))
        fail(`column "${c.name}" reads field "${f}", which ${formats.schemaFile!.path} does not have (its fields as columns: ${[...fields].join(', ')}${decl.valueFormat === 'json' ? '' : '; Avro and Protobuf fields are read by their lower-cased column name'})`);
    }
  }
  const declared: Column[] = [];
  const names = new Set<string>();
  for (const c of declaredColumns!) {
    if (typeof c?.name !== 'string' || !IDENTIFIER.test(c.name)) fail(`column name "${c?.name}" must match ${IDENTIFIER}`);
    if (names.has(c.name)) fail(`column "${c.name}" is declared twice`);
    if (keepKafkaCoordinates && KAFKA_COLUMNS.some((k) => k.name === c.name))
      fail(`column "${c.name}" collides with a Kafka coordinate column; rename it or set keepKafkaCoordinates: false`);
    names.add(c.name);
    let type: ColumnType;
    try {
      type = parseColumnType(String(c.type));
    } catch (e) {
      if (e instanceof ColumnTypeError) return fail(`column "${c.name}": ${e.message}`);
      throw e;
    }
    if (c.field !== undefined && (typeof c.field !== 'string' || c.field.length === 0)) fail(`column "${c.name}": field must be a non-empty string`);
    declared.push({ name: c.name, type, glueType: formatColumnType(type), required: c.required ?? false, field: c.field ?? c.name, comment: c.comment });
  }

  const p = decl.partitioning as PartitioningDeclaration | undefined;
  let partitioning: Partitioning;
  let fileColumns = declared;
  if (!p || typeof p !== 'object') {
    return fail(`set partitioning to { by: 'eventTime', source, granularity }, { by: 'columns', columns } or { by: 'none' }`);
  } else if (p.by === 'eventTime') {
    if (p.granularity !== 'day' && p.granularity !== 'hour') fail(`partitioning.granularity must be 'day' or 'hour', got "${String(p.granularity)}"`);
    if (p.source === KAFKA_TIMESTAMP_SOURCE) {
      if (format === 'iceberg' && !keepKafkaCoordinates)
        fail(`an Iceberg table partitions by a column: partitioning by '${KAFKA_TIMESTAMP_SOURCE}' needs keepKafkaCoordinates (its _kafka_ts column), or a timestamp column as source`);
      partitioning = { by: 'eventTime', source: { kafkaTimestamp: true }, granularity: p.granularity };
    } else {
      const col = declared.find((c) => c.name === p.source);
      if (!col) fail(`partitioning.source "${p.source}" is not a declared column; use a timestamp or date column or '${KAFKA_TIMESTAMP_SOURCE}'`);
      if (col!.type.kind !== 'timestamp' && col!.type.kind !== 'date') fail(`partitioning.source "${p.source}" must be a timestamp or date column, it is ${col!.glueType}`);
      if (col!.type.kind === 'date' && p.granularity === 'hour') fail(`partitioning.source "${p.source}" is a date column, so granularity must be 'day'`);
      if (!col!.required) fail(`partitioning.source "${p.source}" must be required: true (a row without event time has no partition)`);
      partitioning = { by: 'eventTime', source: { column: col!.name }, granularity: p.granularity };
    }
    for (const k of partitionKeysFor(partitioning, 'hive')) if (names.has(k.name)) fail(`column "${k.name}" collides with the event-time partition key "${k.name}"; rename the column`);
  } else if (p.by === 'columns') {
    if (!Array.isArray(p.columns) || p.columns.length === 0) fail('partitioning.columns must list at least one column');
    const cols: Column[] = [];
    for (const n of p.columns) {
      const col = declared.find((c) => c.name === n);
      if (!col) fail(`partitioning.columns names "${n}", which is not a declared column`);
      if (!PARTITION_KEY_TYPES.has(col!.type.kind)) fail(`partition column "${n}" must be one of ${[...PARTITION_KEY_TYPES].join(', ')}, it is ${col!.glueType}`);
      if (cols.includes(col!)) fail(`partitioning.columns names "${n}" twice`);
      cols.push(col!);
    }
    partitioning = { by: 'columns', columns: cols };
    // Hive keeps partition columns in the path only; Iceberg partitions by values in the files.
    if (format === 'hive') fileColumns = declared.filter((c) => !cols.includes(c));
    if (fileColumns.length === 0 && !keepKafkaCoordinates) fail('every column is a partition key; declare at least one data column');
  } else if (p.by === 'none') {
    partitioning = { by: 'none' };
  } else {
    return fail(`partitioning.by must be 'eventTime', 'columns' or 'none', got "${String((p as { by?: unknown }).by)}"`);
  }

  const columns = keepKafkaCoordinates
    ? [...fileColumns, ...KAFKA_COLUMNS.map((k) => ({ name: k.name, type: parseColumnType(k.type), glueType: k.type, required: true, field: k.name, kafka: k.kafka }))]
    : fileColumns;

  return {
    name,
    topics: [...decl.topics],
    valueFormat: decl.valueFormat,
    ...(decl.keyFormat !== undefined ? { keyFormat: decl.keyFormat } : {}),
    ...(formats.schemaRegistry ? { schemaRegistry: formats.schemaRegistry } : {}),
    ...(formats.schemaFile ? { schema: formats.schemaFile } : {}),
    columns,
    partitionKeys: partitionKeysFor(partitioning, format),
    partitioning,
    transform: decl.transform as Transform<unknown> | undefined,
    keepKafkaCoordinates,
    compression,
    partitionRegistration,
    projectionStartDate,
    unknownFields,
    ...(decl.maxValueBytes !== undefined ? { maxValueBytes: decl.maxValueBytes } : {}),
    ...(decl.maxNestingDepth !== undefined ? { maxNestingDepth: decl.maxNestingDepth } : {}),
    description: decl.description,
    format,
    iceberg,
  };
}

function normalizeIceberg(d: IcebergDeclaration | undefined, fail: (msg: string) => never): Pipeline['iceberg'] {
  const interval = d?.commitIntervalSeconds ?? 60;
  if (!Number.isFinite(interval) || interval < 0 || interval > 3600) fail(`iceberg.commitIntervalSeconds must be 0..3600, got ${String(interval)}`);
  const o = d?.optimizers ?? {};
  const positive = (name: string, v: number | undefined, dflt: number) => {
    const x = v ?? dflt;
    if (!Number.isInteger(x) || x < 1) fail(`iceberg.optimizers.${name} must be a positive integer, got ${String(v)}`);
    return x;
  };
  return {
    commitIntervalSeconds: interval,
    optimizers: {
      compaction: o.compaction ?? true,
      snapshotRetention:
        o.snapshotRetention === false
          ? false
          : {
              snapshotRetentionPeriodInDays: positive('snapshotRetention.snapshotRetentionPeriodInDays', o.snapshotRetention?.snapshotRetentionPeriodInDays, 5),
              numberOfSnapshotsToRetain: positive('snapshotRetention.numberOfSnapshotsToRetain', o.snapshotRetention?.numberOfSnapshotsToRetain, 1),
            },
      orphanFileDeletion: o.orphanFileDeletion === false ? false : { orphanFileRetentionPeriodInDays: positive('orphanFileDeletion.orphanFileRetentionPeriodInDays', o.orphanFileDeletion?.orphanFileRetentionPeriodInDays, 3) },
    },
  };
}


const FORMATS = ['json', 'avro', 'protobuf'];
const GLUE_REGISTRY_NAME = /^[a-zA-Z0-9-_$#.]{1,255}$/;

/** Validates the format fields of a declaration (valueFormat, keyFormat, schemaRegistry, schemaFile) and derives the schema file's columns. */
function normalizeFormats(
  decl: PipelineDeclaration,
  fail: (msg: string) => never,
): { schemaRegistry?: SchemaRegistryDeclaration; schemaFile?: Pipeline['schema']; derived?: ColumnDeclaration[] } {
  const vf = decl.valueFormat as string;
  if (!FORMATS.includes(vf)) fail(`valueFormat must be 'json', 'avro' or 'protobuf', got "${String(vf)}"`);
  const kf = decl.keyFormat as string | undefined;
  if (kf !== undefined && kf !== 'string' && !FORMATS.includes(kf)) fail(`keyFormat must be 'string', 'json', 'avro' or 'protobuf', got "${kf}"`);
  const r = decl.schemaRegistry as SchemaRegistryDeclaration | undefined;
  let schemaRegistry: SchemaRegistryDeclaration | undefined;
  if (r !== undefined) {
    if (r?.type === 'confluent') {
      if (typeof r.url !== 'string' || !/^https?:\/\/[^\s/]+/.test(r.url)) fail(`schemaRegistry.url must be the registry's http(s) URL, got "${String(r.url)}"`);
      if (r.credentialsSecret !== undefined && (typeof r.credentialsSecret !== 'string' || !/^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+|[\w/+=.@-]{1,512})$/.test(r.credentialsSecret)))
        fail(`schemaRegistry.credentialsSecret must be a Secrets Manager secret ARN or name, got "${String(r.credentialsSecret)}"`);
      schemaRegistry = { type: 'confluent', url: r.url.replace(/\/+$/, ''), ...(r.credentialsSecret ? { credentialsSecret: r.credentialsSecret } : {}) };
    } else if (r?.type === 'glue') {
      if (typeof r.registryName !== 'string' || !GLUE_REGISTRY_NAME.test(r.registryName)) fail(`schemaRegistry.registryName must be a Glue registry name (${GLUE_REGISTRY_NAME}), got "${String(r.registryName)}"`);
      schemaRegistry = { type: 'glue', registryName: r.registryName };
    } else {
      fail(`schemaRegistry.type must be 'confluent' (with url) or 'glue' (with registryName), got "${String((r as { type?: unknown })?.type)}"`);
    }
  }
  if ((vf === 'avro' || vf === 'protobuf') && !schemaRegistry && decl.schemaFile === undefined)
    fail(`valueFormat '${vf}' needs the writer schema: set schemaRegistry ({ type: 'confluent', url } or { type: 'glue', registryName }) for values framed by a registry's serializer, or schemaFile for unframed values`);
  if ((kf === 'avro' || kf === 'protobuf') && !schemaRegistry) fail(`keyFormat '${kf}' needs schemaRegistry: keys are read with their writer schema (subject <topic>-key)`);
  if (decl.protobufMessage !== undefined && (vf !== 'protobuf' || typeof decl.protobufMessage !== 'string' || !/^[A-Za-z_][\w.]*$/.test(decl.protobufMessage)))
    fail(vf !== 'protobuf' ? `protobufMessage is only for valueFormat 'protobuf'; remove it` : `protobufMessage must be a message's full name such as "shop.Order"`);
  if (decl.schemaFile === undefined) return { schemaRegistry };
  if (typeof decl.schemaFile !== 'string' || decl.schemaFile.length === 0) fail('schemaFile must be a path relative to the project root, such as "schemas/orders.avsc"');
  const ext = /\.[a-z]+$/i.exec(decl.schemaFile)?.[0].toLowerCase() ?? '';
  const wants = SCHEMA_FILE_EXTENSIONS[vf as RecordFormat];
  if (!wants.includes(ext)) fail(`schemaFile "${decl.schemaFile}" does not look like a ${vf} schema: for valueFormat '${vf}' use a ${wants.join(' or ')} file`);
  let text: string;
  try {
    text = readSchemaFile(decl.schemaFile);
  } catch (e) {
    return fail(`schemaFile "${decl.schemaFile}" cannot be read: ${(e as Error).message} (paths are relative to the project root)`);
  }
  const schemaFile = { path: decl.schemaFile, text, ...(decl.protobufMessage ? { message: decl.protobufMessage } : {}) };
  let derived: ColumnDeclaration[];
  try {
    derived = deriveSchemaColumns(vf as RecordFormat, schemaFile);
  } catch (e) {
    return fail(`schemaFile "${decl.schemaFile}": ${(e as Error).message}`);
  }
  return { schemaRegistry, schemaFile, derived };
}
