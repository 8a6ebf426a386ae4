/**
 * Glue TableInput / PartitionInput for a pipeline, in the Glue API's own shape. The single source
 * for the CDK stack (CfnTable), the local provisioner and the loader's partition registration, so
 * that the deployed and the local catalog are identical.
 */
import { icebergLayout } from './iceberg/schema';
import type { Column as GlueColumn, PartitionInput, StorageDescriptor, TableInput } from '@aws-sdk/client-glue';
import { dataPrefix, quarantinePrefix, s3Uri } from './layout';
import type { Pipeline } from './pipeline';

export const PARQUET_SERDE = 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe';
export const PARQUET_INPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat';
export const PARQUET_OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat';
export const JSON_SERDE = 'org.openx.data.jsonserde.JsonSerDe';
export const TEXT_INPUT_FORMAT = 'org.apache.hadoop.mapred.TextInputFormat';
export const TEXT_OUTPUT_FORMAT = 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat';

/** Name of the Glue table over a pipeline's quarantine. */
export const quarantineTableName = (p: Pipeline) => `${p.name}_quarantine`;

/** The quarantine NDJSON line's fields, which are also the quarantine table's columns. */
export const QUARANTINE_COLUMNS: GlueColumn[] = [
  { Name: 'pipeline', Type: 'string' },
  { Name: 'topic', Type: 'string' },
  { Name: 'kafka_partition', Type: 'int' },
  { Name: 'kafka_offset', Type: 'bigint' },
  { Name: 'kafka_timestamp', Type: 'bigint', Comment: 'epoch milliseconds' },
  { Name: 'timestamp_type', Type: 'string' },
  { Name: 'key_base64', Type: 'string' },
  { Name: 'value_base64', Type: 'string' },
  { Name: 'headers', Type: 'array<struct<key:string,value_base64:string>>' },
  { Name: 'stage', Type: 'string', Comment: 'decode | schema | transform | conform | partition' },
  { Name: 'error', Type: 'string' },
  { Name: 'loader_version', Type: 'string' },
];

function parquetStorage(p: Pipeline, location: string): StorageDescriptor {
  return {
    Columns: p.columns.map((c) => ({ Name: c.name, Type: c.glueType, ...(c.comment ? { Comment: c.comment } : {}) })),
    Location: location,
    InputFormat: PARQUET_INPUT_FORMAT,
    OutputFormat: PARQUET_OUTPUT_FORMAT,
    Compressed: true,
    SerdeInfo: { SerializationLibrary: PARQUET_SERDE, Parameters: { 'serialization.format': '1' } },
  };
}

/** The data table: Parquet SerDe, columns and partition keys from the declaration, optional projection. */
export function tableInput(p: Pipeline, bucket: string): TableInput {
  if (p.format === 'iceberg') return icebergTableInput(p, bucket, null);
  const location = s3Uri(bucket, dataPrefix(p.name));
  const parameters: Record<string, string> = {
    classification: 'parquet',
    EXTERNAL: 'TRUE',
    'parquet.compression': p.compression.toUpperCase(),
    'lakeloader.pipeline': p.name,
    'lakeloader.topics': p.topics.join(','),
  };
  if (p.partitionRegistration === 'projection') Object.assign(parameters, projectionParameters(p, location));
  return {
    Name: p.name,
    Description: p.description,
    TableType: 'EXTERNAL_TABLE',
    Parameters: parameters,
    PartitionKeys: p.partitionKeys.map((k) => ({ Name: k.name, Type: k.glueType })),
    StorageDescriptor: parquetStorage(p, location),
  };
}

/** An Iceberg table's location: `s3://<bucket>/tables/<table>` (no trailing slash, as Iceberg writes it). */
export function icebergLocation(p: Pipeline, bucket: string): string {
  return s3Uri(bucket, dataPrefix(p.name)).replace(/\/$/, '');
}

/**
 * The Glue table of an Iceberg pipeline, as Athena registers Iceberg tables: `table_type=ICEBERG`
 * and `metadata_location` (the current metadata file; null before the table has one), columns
 * with their Iceberg field ids, no partition keys (Iceberg partitioning is hidden).
 */
export function icebergTableInput(p: Pipeline, bucket: string, metadataLocation: string | null, previousMetadataLocation?: string): TableInput {
  const { schema } = icebergLayout(p);
  return {
    Name: p.name,
    Description: p.description,
    TableType: 'EXTERNAL_TABLE',
    Parameters: {
      table_type: 'ICEBERG',
      ...(metadataLocation ? { metadata_location: metadataLocation } : {}),
      ...(previousMetadataLocation ? { previous_metadata_location: previousMetadataLocation } : {}),
      'lakeloader.pipeline': p.name,
      'lakeloader.topics': p.topics.join(','),
    },
    StorageDescriptor: {
      Location: icebergLocation(p, bucket),
      Columns: p.columns.map((c, i) => ({
        Name: c.name,
        Type: c.glueType,
        ...(c.comment ? { Comment: c.comment } : {}),
        Parameters: { 'iceberg.field.id': String(schema.fields[i]!.id), 'iceberg.field.optional': 'true', 'iceberg.field.current': 'true' },
      })),
    },
  };
}

/** Athena partition projection parameters for a pipeline declared with `partitionRegistration: 'projection'`. */
export function projectionParameters(p: Pipeline, location: string): Record<string, string> {
  const out: Record<string, string> = { 'projection.enabled': 'true' };
  if (p.partitioning.by === 'eventTime') {
    Object.assign(out, {
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
      'projection.dt.range': `${p.projectionStartDate},NOW`,
      'projection.dt.interval': '1',
      'projection.dt.interval.unit': 'DAYS',
    });
    if (p.partitioning.granularity === 'hour') {
      Object.assign(out, { 'projection.hour.type': 'integer', 'projection.hour.range': '0,23', 'projection.hour.digits': '2' });
    }
  } else if (p.partitioning.by === 'columns') {
    for (const c of p.partitioning.columns) out[`projection.${c.name}.type`] = 'injected';
  }
  out['storage.location.template'] = location + p.partitionKeys.map((k) => `${k.name}=\${${k.name}}`).join('/') + (p.partitionKeys.length ? '/' : '');
  return out;
}

/** One partition of the data table: `values` in partition-key order, `hivePath` the escaped `k=v/...` path. */
export function partitionInput(p: Pipeline, bucket: string, values: string[], hivePath: string): PartitionInput {
  return { Values: values, StorageDescriptor: parquetStorage(p, s3Uri(bucket, `${dataPrefix(p.name)}${hivePath}/`)) };
}

/** The quarantine table: NDJSON through the OpenX JSON SerDe, not partitioned. */
export function quarantineTableInput(p: Pipeline, bucket: string): TableInput {
  return {
    Name: quarantineTableName(p),
    Description: `Records of ${p.name} that could not become rows, with their Kafka coordinates and reason.`,
    TableType: 'EXTERNAL_TABLE',
    Parameters: { classification: 'json', EXTERNAL: 'TRUE', 'lakeloader.pipeline': p.name },
    PartitionKeys: [],
    StorageDescriptor: {
      Columns: QUARANTINE_COLUMNS,
      Location: s3Uri(bucket, quarantinePrefix(p.name)),
      InputFormat: TEXT_INPUT_FORMAT,
      OutputFormat: TEXT_OUTPUT_FORMAT,
      SerdeInfo: { SerializationLibrary: JSON_SERDE, Parameters: { 'ignore.malformed.json': 'FALSE', 'case.insensitive': 'TRUE' } },
    },
  };
}
