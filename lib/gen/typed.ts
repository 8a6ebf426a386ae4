/**
 * The clickstream as Avro or Protobuf producers write it (`lakeloader demo --format avro|protobuf`):
 * the writer schemas in schemas/ (clickstream.avsc, clickstream.proto), the example pipeline's
 * table declared for Confluent-framed values of either format, and each generated event as the
 * object an Avro or Protobuf serializer takes.
 */
import { resolve } from 'node:path';
import { definePipeline, type Pipeline, type PipelineDeclaration } from '../../lambdas/core/pipeline';
import type { ClickEvent } from './clickstream';

export type TypedFormat = 'avro' | 'protobuf';

/** The writer schema files of the clickstream, by format. */
export const CLICKSTREAM_SCHEMAS: Record<TypedFormat, string> = {
  avro: resolve(__dirname, '..', '..', 'schemas', 'clickstream.avsc'),
  protobuf: resolve(__dirname, '..', '..', 'schemas', 'clickstream.proto'),
};

/**
 * `base` (the clickstream pipeline: same table, columns, partitioning and table format) reading
 * `format` values framed by the Confluent Schema Registry at `registryUrl`. New writer fields
 * grow the table (`unknownFields: 'evolve'`, the default for typed values).
 */
export function typedPipeline(base: Pipeline, format: TypedFormat, registryUrl: string): Pipeline {
  const p = base.partitioning;
  const partitioning: PipelineDeclaration['partitioning'] =
    p.by === 'eventTime'
      ? { by: 'eventTime', source: 'column' in p.source ? p.source.column : '$kafkaTimestamp', granularity: p.granularity }
      : p.by === 'columns'
        ? { by: 'columns', columns: p.columns.map((c) => c.name) }
        : { by: 'none' };
  return definePipeline({
    name: base.name,
    ...(base.description ? { description: `${base.description} (${format}, Confluent-framed)` } : {}),
    topics: base.topics,
    valueFormat: format,
    schemaRegistry: { type: 'confluent', url: registryUrl },
    columns: base.columns.filter((c) => !c.kafka).map((c) => ({ name: c.name, type: c.glueType, required: c.required, ...(c.comment ? { comment: c.comment } : {}) })),
    partitioning,
    keepKafkaCoordinates: base.keepKafkaCoordinates,
    compression: base.compression,
    format: base.format,
    iceberg: base.iceberg,
  } as PipelineDeclaration);
}

/** A generated event as the value object of schemas/clickstream.avsc or .proto. */
export function typedClick(e: ClickEvent, format: TypedFormat): Record<string, unknown> {
  const common = {
    event_id: e.event_id,
    user_id: e.user_id, // bigint: exact in Avro's long; text for protobufjs (lib/ops/registry.ts converts)
    session_id: e.session_id,
    event_type: e.event_type,
    amount: e.amount ?? null,
    currency: e.currency ?? null,
    country: e.country,
    device: e.device,
    page_url: e.page_url,
    referrer: e.referrer,
    props: e.props,
  };
  if (format === 'avro') return { ...common, ts: e.tsMs };
  // Protobuf: absent rather than null for unset optional fields; Timestamp from the ISO text.
  const out: Record<string, unknown> = { ...common, ts: e.ts };
  for (const k of Object.keys(out)) if (out[k] === null) delete out[k];
  return out;
}
