/**
 * Fetches given offset ranges from Kafka with kafkajs, for re-driving ESM on-failure records that
 * carry no payload (`lakeloader replay --brokers host:port`). A throwaway consumer group that
 * never commits seeks each partition to the first offset and reads up to the last one (or the
 * partition's end, for offsets that were deleted by retention).
 */
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import type { MskRecord } from '../../lambdas/core/model';
import { headerList } from '../local/esm';
import { toMskRecord } from '../local/msk-event';
import type { RecordFetcher } from './redrive';

/** The requested offsets could not be read in time (broker unreachable, or the offsets are gone). */
export class KafkaFetchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KafkaFetchError';
  }
}

/**
 * A {@link RecordFetcher} over Kafka brokers.
 * @param config extra kafkajs settings (SASL/TLS for MSK)
 */
export function kafkaFetcher(brokers: string[], config: Partial<KafkaConfig> = {}, timeoutMs = 30_000): RecordFetcher {
  const kafka = new Kafka({ clientId: 'lakeloader-replay', brokers, logLevel: logLevel.NOTHING, ...config });
  return async (topic, partition, first, last) => {
    const admin = kafka.admin();
    await admin.connect();
    let high: number;
    try {
      const offs = await admin.fetchTopicOffsets(topic);
      high = Number(offs.find((o) => o.partition === partition)?.high ?? 0);
    } finally {
      await admin.disconnect();
    }
    const end = Math.min(last, high - 1);
    if (end < first) return [];
    const consumer = kafka.consumer({ groupId: `lakeloader-replay-${process.pid}-${Date.now()}`, allowAutoTopicCreation: false });
    const out: MskRecord[] = [];
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new KafkaFetchError(`reading ${topic}-${partition} offsets ${first}..${end} from ${brokers.join(',')} took over ${timeoutMs} ms`)), timeoutMs);
        consumer
          .run({
            autoCommit: false,
            eachBatch: async ({ batch }) => {
              if (batch.partition !== partition) return;
              for (const m of batch.messages) {
                const offset = Number(m.offset);
                if (offset < first || offset > end) continue;
                out.push(
                  toMskRecord({
                    topic,
                    partition,
                    offset,
                    timestamp: Number(m.timestamp),
                    key: m.key ?? null,
                    value: m.value ?? null,
                    headers: headerList(m.headers),
                  }),
                );
              }
              if (out.length && out[out.length - 1]!.offset >= end) {
                clearTimeout(timer);
                resolve();
              }
            },
          })
          .then(() => consumer.seek({ topic, partition, offset: String(first) }))
          .catch((e: unknown) => {
            clearTimeout(timer);
            reject(e);
          });
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    return [...new Map(out.map((r) => [r.offset, r])).values()].sort((a, b) => a.offset - b.offset);
  };
}
