import { definePipeline } from 'lakeloader';

/**
 * The example pipeline: web and app click events from topic `clicks` into an Iceberg table
 * partitioned by event time, `hour(ts)` (hidden: queries filter on `ts`). `ts` arrives as an ISO-8601 string and `user_id` as a JSON
 * integer that may exceed 2^53 (kept exact as a Parquet INT64).
 */
export const clickstream = definePipeline({
  name: 'clickstream',
  description: 'Click events from the web and app front ends (example pipeline).',
  topics: ['clicks'],
  valueFormat: 'json',
  columns: [
    { name: 'event_id', type: 'string', required: true },
    { name: 'user_id', type: 'bigint', required: true },
    { name: 'session_id', type: 'string' },
    { name: 'event_type', type: 'string' },
    { name: 'ts', type: 'timestamp', required: true, comment: 'event time, UTC' },
    { name: 'amount', type: 'double' },
    { name: 'currency', type: 'string' },
    { name: 'country', type: 'string' },
    { name: 'device', type: 'string' },
    { name: 'page_url', type: 'string' },
    { name: 'referrer', type: 'string' },
    { name: 'props', type: 'map<string,string>' },
  ],
  partitioning: { by: 'eventTime', source: 'ts', granularity: 'hour' },
  keepKafkaCoordinates: true,
  compression: 'snappy',
});

export default clickstream;
