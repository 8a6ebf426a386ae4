/**
 * A data file's Iceberg partition tuple (partition spec 0 of iceberg/schema.ts), from the
 * partition the loader grouped its rows by: every row of a file is in one hour (or day), or has
 * one value per identity column, so the file's first row speaks for all of them.
 */
import { daysFromCivil } from '../conform';
import { HIVE_DEFAULT_PARTITION, type PartitionTarget } from '../partition';
import type { Pipeline } from '../pipeline';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The partition values of a file whose rows are in `target`. */
export function icebergPartition(pipeline: Pipeline, target: PartitionTarget): (number | string | boolean | null)[] {
  const p = pipeline.partitioning;
  if (p.by === 'none') return [];
  if (p.by === 'eventTime') {
    const t = target.eventTime!;
    return [p.granularity === 'hour' ? Math.floor(t / HOUR) : Math.floor(t / DAY)];
  }
  return p.columns.map((c, i) => {
    const text = target.values[i]!;
    if (text === HIVE_DEFAULT_PARTITION) return null;
    switch (c.type.kind) {
      case 'int':
      case 'bigint':
        return Number(text);
      case 'boolean':
        return text === 'true';
      case 'date': {
        const [y, m, d] = text.split('-').map(Number);
        return daysFromCivil(y!, m!, d!);
      }
      default:
        return text;
    }
  });
}
