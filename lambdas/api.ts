/**
 * Lakeloader's public API, imported by pipeline files as `import { definePipeline } from 'lakeloader'`
 * (package.json `exports`). It is part of every loader Lambda bundle, so it holds nothing but the
 * declaration API and its types.
 *
 * ```ts
 * // pipelines/orders.ts — one file per table; nothing else to register
 * import { definePipeline } from 'lakeloader';
 *
 * export default definePipeline({
 *   name: 'orders',
 *   topics: ['orders'],
 *   valueFormat: 'json',
 *   columns: [
 *     { name: 'order_id', type: 'string', required: true },
 *     { name: 'amount', type: 'decimal(12,2)' },
 *     { name: 'ts', type: 'timestamp', required: true },
 *   ],
 *   partitioning: { by: 'eventTime', source: 'ts', granularity: 'day' },
 *   // value: the decoded JSON object; the returned row is typed from the columns above
 *   transform: (value) => ({ order_id: String(value.id), amount: Number(value.total), ts: String(value.created_at) }),
 * });
 * ```
 */
export {
  definePipeline,
  isPipeline,
  PipelineDeclarationError,
  type ColumnDeclaration,
  type ColumnValue,
  type JsonObject,
  type JsonValue,
  type PartitioningDeclaration,
  type Pipeline,
  type PipelineDeclaration,
  type RecordMeta,
  type Row,
  type RowOf,
  type Transform,
} from './core/pipeline';
