/**
 * Fetches given offset ranges from Kafka, for re-driving ESM on-failure records that carry no
 * payload (`lakeloader replay --brokers host:port`). A throwaway consumer group that never commits
 * starts the partition at the first offset and reads up to the last one (or the partition's end,
 * for offsets that were deleted by retention).
 */
import { Consumer, MessagesStreamModes } from '@platformatic/kafka';
import type { MskRecord } from '../../lambdas/core/model';
import { recordOf } from '../local/esm';
import { clientOptions, endOffsets, withAdmin, type KafkaConnection } from '../local/kafka-client';
import { toMskRecord } from '../local/msk-event';
import type { RecordFetcher } from './redrive';
import { LakeloaderError } from '../../lambdas/core/errors';

/** The requested offsets could not be read in time (broker unreachable, or the offsets are gone). */
export class KafkaFetchError extends LakeloaderError {
  readonly code = 'KAFKA_FETCH';
  constructor(message: string) {
    super(message);
  }
}

/**
 * A {@link RecordFetcher} over Kafka brokers.
 * @param conn the cluster (TLS/SASL for MSK)
 */
export function kafkaFetcher(conn: KafkaConnection, timeoutMs = 30_000): RecordFetcher {
  return async (topic, partition, first, last) => {
    const high = await withAdmin(conn, async (admin) => (await endOffsets(admin, [topic])).get(`${topic}-${partition}`)?.high ?? 0);
    const end = Math.min(last, high - 1);
    if (end < first) return [];
    const consumer = new Consumer({ ...clientOptions(conn, 'lakeloader-replay'), groupId: `lakeloader-replay-${process.pid}-${Date.now()}`, autocommit: false, maxWaitTime: 200 });
    const out = new Map<number, MskRecord>();
    try {
      const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.MANUAL, offsets: [{ topic, partition, offset: BigInt(first) }], autocommit: false });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new KafkaFetchError(`reading ${topic}-${partition} offsets ${first}..${end} from ${conn.brokers.join(',')} took over ${timeoutMs} ms`)), timeoutMs);
        stream.on('error', (e: Error) => {
          clearTimeout(timer);
          reject(e);
        });
        stream.on('data', (m) => {
          const offset = Number(m.offset);
          if (m.partition !== partition || offset < first || offset > end) return;
          out.set(offset, toMskRecord(recordOf(m)));
          if (offset >= end) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      await stream.close();
    } finally {
      await consumer.close(true);
    }
    return [...out.values()].sort((a, b) => a.offset - b.offset);
  };
}
