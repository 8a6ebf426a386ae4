/**
 * Fetch (1) and ListOffsets (2).
 *
 * Fetch returns whole stored batches from the one holding the fetch offset (the client skips the
 * records before it), within the partition and request byte limits but always at least one batch.
 * When fewer than `MinBytes` are ready it waits, up to `MaxWaitMs`, for an append to any of the
 * requested partitions: a timer and a callback, so an idle consumer costs nothing. Fetch sessions
 * (KIP-227) are declined (session id 0): clients then send full fetch requests, which Kafka
 * allows. Without transactions the last stable offset is the high watermark, so read_committed
 * consumers see every record.
 */
import { ErrorCode } from '../errors';
import type { PartitionLog, Topic } from '../log';
import { arrayOf, field, structs, type Message } from '../protocol';
import type { ApiDefinition, BrokerState } from './types';

interface Wanted {
  topic: Topic | undefined;
  name: string;
  id: Buffer;
  partitions: { partition: number; offset: number; maxBytes: number }[];
}

function resolve(b: BrokerState, req: Message, version: number): Wanted[] {
  return (req.Topics as Message[]).map((t) => {
    const topic = version >= 13 ? b.topics.getById(t.TopicId as Buffer) : b.topics.get(t.Topic as string);
    return {
      topic,
      name: (t.Topic as string) ?? topic?.name ?? '',
      id: (t.TopicId as Buffer) ?? topic?.id,
      partitions: (t.Partitions as Message[]).map((p) => ({ partition: p.Partition as number, offset: Number(p.FetchOffset as bigint), maxBytes: p.PartitionMaxBytes as number })),
    };
  });
}

function collect(wanted: Wanted[], maxBytes: number, version: number): { responses: Message[]; bytes: number } {
  let bytes = 0;
  const responses = wanted.map((w) => ({
    Topic: w.name,
    TopicId: w.id,
    Partitions: w.partitions.map((p) => {
      const log: PartitionLog | undefined = w.topic?.partitions[p.partition];
      if (!log) {
        return { PartitionIndex: p.partition, ErrorCode: version >= 13 && !w.topic ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, HighWatermark: -1n, Records: null };
      }
      const base = { PartitionIndex: p.partition, HighWatermark: BigInt(log.highWatermark), LastStableOffset: BigInt(log.highWatermark), LogStartOffset: BigInt(log.logStartOffset), AbortedTransactions: [] };
      if (p.offset < log.logStartOffset || p.offset > log.highWatermark) return { ...base, ErrorCode: ErrorCode.OFFSET_OUT_OF_RANGE, Records: null };
      const read = log.read(p.offset, Math.min(p.maxBytes, Math.max(0, maxBytes - bytes)), bytes === 0);
      bytes += read.bytes;
      return { ...base, ErrorCode: 0, Records: read.batches };
    }),
  }));
  return { responses, bytes };
}

export const fetch: ApiDefinition = {
  key: 1,
  name: 'Fetch',
  minVersion: 4,
  maxVersion: 17,
  request: {
    flexibleFrom: 12,
    fields: [
      field('ClusterId', 'string', '12+', { nullable: '12+', tagged: '12+', tag: 0, default: null }),
      field('ReplicaId', 'int32', '0-14', { default: -1 }),
      field('ReplicaState', { struct: [field('ReplicaId', 'int32', '15+', { default: -1 }), field('ReplicaEpoch', 'int64', '15+', { default: -1n })] }, '15+', { tagged: '15+', tag: 1 }),
      field('MaxWaitMs', 'int32', '0+'),
      field('MinBytes', 'int32', '0+'),
      field('MaxBytes', 'int32', '3+', { default: 0x7fffffff }),
      field('IsolationLevel', 'int8', '4+'),
      field('SessionId', 'int32', '7+'),
      field('SessionEpoch', 'int32', '7+', { default: -1 }),
      field(
        'Topics',
        structs([
          field('Topic', 'string', '0-12'),
          field('TopicId', 'uuid', '13+'),
          field(
            'Partitions',
            structs([
              field('Partition', 'int32', '0+'),
              field('CurrentLeaderEpoch', 'int32', '9+', { default: -1 }),
              field('FetchOffset', 'int64', '0+'),
              field('LastFetchedEpoch', 'int32', '12+', { default: -1 }),
              field('LogStartOffset', 'int64', '5+', { default: -1n }),
              field('PartitionMaxBytes', 'int32', '0+'),
              field('ReplicaDirectoryId', 'uuid', '17+', { tagged: '17+', tag: 0 }),
            ]),
            '0+',
          ),
        ]),
        '0+',
      ),
      field('ForgottenTopicsData', structs([field('Topic', 'string', '7-12'), field('TopicId', 'uuid', '13+'), field('Partitions', arrayOf('int32'), '7+')]), '7+'),
      field('RackId', 'string', '11+'),
    ],
  },
  response: {
    flexibleFrom: 12,
    fields: [
      field('ThrottleTimeMs', 'int32', '1+'),
      field('ErrorCode', 'int16', '7+'),
      field('SessionId', 'int32', '7+'),
      field(
        'Responses',
        structs([
          field('Topic', 'string', '0-12'),
          field('TopicId', 'uuid', '13+'),
          field(
            'Partitions',
            structs([
              field('PartitionIndex', 'int32', '0+'),
              field('ErrorCode', 'int16', '0+'),
              field('HighWatermark', 'int64', '0+'),
              field('LastStableOffset', 'int64', '4+', { default: -1n }),
              field('LogStartOffset', 'int64', '5+', { default: -1n }),
              field('AbortedTransactions', structs([field('ProducerId', 'int64', '4+'), field('FirstOffset', 'int64', '4+')]), '4+', { nullable: '4+' }),
              field('PreferredReadReplica', 'int32', '11+', { default: -1 }),
              field('Records', 'records', '0+', { nullable: '0+' }),
            ]),
            '0+',
          ),
        ]),
        '0+',
      ),
    ],
  },
  async handle(req, ctx) {
    const b = ctx.broker;
    const wanted = resolve(b, req, ctx.version);
    const maxBytes = (req.MaxBytes as number) > 0 ? (req.MaxBytes as number) : 0x7fffffff;
    let got = collect(wanted, maxBytes, ctx.version);
    const minBytes = Math.max(1, req.MinBytes as number);
    const waitMs = req.MaxWaitMs as number;
    if (got.bytes < minBytes && waitMs > 0) {
      const logs = wanted.flatMap((w) => w.partitions.map((p) => w.topic?.partitions[p.partition]).filter((l): l is PartitionLog => !!l));
      await new Promise<void>((done) => {
        const cancels: (() => void)[] = [];
        const finish = () => {
          clearTimeout(timer);
          for (const c of cancels) c();
          done();
        };
        const timer = setTimeout(finish, waitMs);
        for (const log of logs) cancels.push(log.onAppend(finish));
      });
      got = collect(resolve(b, req, ctx.version), maxBytes, ctx.version);
    }
    return { ThrottleTimeMs: 0, ErrorCode: 0, SessionId: 0, Responses: got.responses };
  },
};

/** ListOffsets' special timestamps. */
const LATEST = -1n;
const EARLIEST = -2n;
const MAX_TIMESTAMP = -3n;

export const listOffsets: ApiDefinition = {
  key: 2,
  name: 'ListOffsets',
  minVersion: 0,
  maxVersion: 9,
  request: {
    flexibleFrom: 6,
    fields: [
      field('ReplicaId', 'int32', '0+'),
      field('IsolationLevel', 'int8', '2+'),
      field(
        'Topics',
        structs([
          field('Name', 'string', '0+'),
          field(
            'Partitions',
            structs([field('PartitionIndex', 'int32', '0+'), field('CurrentLeaderEpoch', 'int32', '4+', { default: -1 }), field('Timestamp', 'int64', '0+'), field('MaxNumOffsets', 'int32', '0', { default: 1 })]),
            '0+',
          ),
        ]),
        '0+',
      ),
    ],
  },
  response: {
    flexibleFrom: 6,
    fields: [
      field('ThrottleTimeMs', 'int32', '2+'),
      field(
        'Topics',
        structs([
          field('Name', 'string', '0+'),
          field(
            'Partitions',
            structs([
              field('PartitionIndex', 'int32', '0+'),
              field('ErrorCode', 'int16', '0+'),
              field('OldStyleOffsets', arrayOf('int64'), '0'),
              field('Timestamp', 'int64', '1+', { default: -1n }),
              field('Offset', 'int64', '1+', { default: -1n }),
              field('LeaderEpoch', 'int32', '4+', { default: -1 }),
            ]),
            '0+',
          ),
        ]),
        '0+',
      ),
    ],
  },
  handle(req, ctx) {
    const b = ctx.broker;
    return {
      ThrottleTimeMs: 0,
      Topics: (req.Topics as Message[]).map((t) => {
        const topic = b.topics.get(t.Name as string);
        return {
          Name: t.Name,
          Partitions: (t.Partitions as Message[]).map((p) => {
            const log = topic?.partitions[p.PartitionIndex as number];
            if (!log) return { PartitionIndex: p.PartitionIndex, ErrorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
            const ts = p.Timestamp as bigint;
            let hit: { offset: number; timestamp: number } | null;
            if (ts === LATEST) hit = { offset: log.highWatermark, timestamp: -1 };
            else if (ts === EARLIEST || ts === -4n || ts === -5n) hit = { offset: log.logStartOffset, timestamp: -1 };
            else if (ts === MAX_TIMESTAMP) hit = log.maxTimestampRecord();
            else hit = log.offsetForTimestamp(Number(ts));
            const offset = BigInt(hit?.offset ?? -1);
            return { PartitionIndex: p.PartitionIndex, ErrorCode: 0, OldStyleOffsets: hit ? [offset] : [], Timestamp: BigInt(hit?.timestamp ?? -1), Offset: offset, LeaderEpoch: 0 };
          }),
        };
      }),
    };
  },
};
