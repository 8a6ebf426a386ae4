/**
 * Produce (0) and InitProducerId (22).
 *
 * Produce takes record batches v2 (produce v3+) with any compression, validates them (CRC-32C,
 * sizes, `max.message.bytes`), checks idempotent producers' sequences and appends them; acks 0
 * gets no response, acks 1 and -1 (all) are answered once the batch is in the log (this broker is
 * the only replica). Transactions are not implemented: a transactional id or a transactional
 * batch is refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED, which clients report at once
 * instead of retrying.
 */
import { ErrorCode } from '../errors';
import { TopicError } from '../log';
import { InvalidBatchError, splitBatches } from '../records';
import { field, structs, type Message } from '../protocol';
import type { ApiDefinition } from './types';

export const produce: ApiDefinition = {
  key: 0,
  name: 'Produce',
  minVersion: 3,
  maxVersion: 11,
  request: {
    flexibleFrom: 9,
    fields: [
      field('TransactionalId', 'string', '3+', { nullable: '3+', default: null }),
      field('Acks', 'int16', '0+'),
      field('TimeoutMs', 'int32', '0+'),
      field('TopicData', structs([field('Name', 'string', '0+'), field('PartitionData', structs([field('Index', 'int32', '0+'), field('Records', 'records', '0+', { nullable: '0+' })]), '0+')]), '0+'),
    ],
  },
  response: {
    flexibleFrom: 9,
    fields: [
      field(
        'Responses',
        structs([
          field('Name', 'string', '0+'),
          field(
            'PartitionResponses',
            structs([
              field('Index', 'int32', '0+'),
              field('ErrorCode', 'int16', '0+'),
              field('BaseOffset', 'int64', '0+'),
              field('LogAppendTimeMs', 'int64', '2+', { default: -1n }),
              field('LogStartOffset', 'int64', '5+', { default: -1n }),
              field('RecordErrors', structs([field('BatchIndex', 'int32', '8+'), field('BatchIndexErrorMessage', 'string', '8+', { nullable: '8+', default: null })]), '8+'),
              field('ErrorMessage', 'string', '8+', { nullable: '8+', default: null }),
            ]),
            '0+',
          ),
        ]),
        '0+',
      ),
      field('ThrottleTimeMs', 'int32', '1+'),
    ],
  },
  handle(req, ctx) {
    const b = ctx.broker;
    const acks = req.Acks as number;
    const refuse = (code: number, message: string) => (t: Message) => ({
      Name: t.Name,
      PartitionResponses: (t.PartitionData as Message[]).map((p) => ({ Index: p.Index, ErrorCode: code, BaseOffset: -1n, ErrorMessage: message })),
    });
    if (acks !== 0 && acks !== 1 && acks !== -1) {
      return { Responses: (req.TopicData as Message[]).map(refuse(ErrorCode.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1 (all), got ${acks}`)), ThrottleTimeMs: 0 };
    }
    if (req.TransactionalId !== null) {
      const r = { Responses: (req.TopicData as Message[]).map(refuse(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'transactions are not supported by the embedded broker')), ThrottleTimeMs: 0 };
      return acks === 0 ? null : r;
    }
    const now = Date.now();
    const responses = (req.TopicData as Message[]).map((t) => {
      const name = t.Name as string;
      let topic = b.topics.get(name);
      let missing: number = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
      if (!topic) {
        try {
          topic = b.autoCreate(name);
        } catch (e) {
          if (!(e instanceof TopicError)) throw e;
          missing = e.errorCode;
        }
      }
      return {
        Name: name,
        PartitionResponses: (t.PartitionData as Message[]).map((p) => {
          const index = p.Index as number;
          const log = topic?.partitions[index];
          if (!topic || !log) return { Index: index, ErrorCode: missing, BaseOffset: -1n, ErrorMessage: `unknown topic or partition ${name}-${index}` };
          const records = p.Records as Buffer | null;
          if (!records || records.length === 0) return { Index: index, ErrorCode: ErrorCode.CORRUPT_MESSAGE, BaseOffset: -1n, ErrorMessage: 'no records' };
          const maxBytes = Number(b.topics.config(topic, 'max.message.bytes'));
          const logAppendTime = b.topics.config(topic, 'message.timestamp.type') === 'LogAppendTime';
          try {
            const batches = splitBatches(records);
            for (const { batch, header } of batches) {
              if (batch.length > maxBytes) throw new InvalidBatchError(ErrorCode.MESSAGE_TOO_LARGE, `a record batch of ${batch.length} bytes exceeds max.message.bytes (${maxBytes}) of topic ${name}`);
              if (header.transactional) throw new InvalidBatchError(ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 'transactional batches are not supported by the embedded broker');
            }
            let first = -1;
            for (const { batch, header } of batches) {
              const { baseOffset } = log.append(batch, header, now, logAppendTime);
              if (first < 0) first = baseOffset;
            }
            return { Index: index, ErrorCode: 0, BaseOffset: BigInt(first), LogAppendTimeMs: logAppendTime ? BigInt(now) : -1n, LogStartOffset: BigInt(log.logStartOffset) };
          } catch (e) {
            if (!(e instanceof InvalidBatchError)) throw e;
            return { Index: index, ErrorCode: e.errorCode, BaseOffset: -1n, ErrorMessage: e.message };
          }
        }),
      };
    });
    return acks === 0 ? null : { Responses: responses, ThrottleTimeMs: 0 };
  },
};

export const initProducerId: ApiDefinition = {
  key: 22,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 5,
  request: {
    flexibleFrom: 2,
    fields: [
      field('TransactionalId', 'string', '0+', { nullable: '0+' }),
      field('TransactionTimeoutMs', 'int32', '0+'),
      field('ProducerId', 'int64', '3+', { default: -1n }),
      field('ProducerEpoch', 'int16', '3+', { default: -1 }),
    ],
  },
  response: {
    flexibleFrom: 2,
    fields: [field('ThrottleTimeMs', 'int32', '0+'), field('ErrorCode', 'int16', '0+'), field('ProducerId', 'int64', '0+', { default: -1n }), field('ProducerEpoch', 'int16', '0+')],
  },
  handle(req, ctx) {
    if (req.TransactionalId !== null) return { ThrottleTimeMs: 0, ErrorCode: ErrorCode.TRANSACTIONAL_ID_AUTHORIZATION_FAILED, ProducerId: -1n, ProducerEpoch: -1 };
    // An idempotent producer asking to bump its epoch (KIP-360) keeps its id.
    if ((req.ProducerId as bigint) >= 0n) return { ThrottleTimeMs: 0, ErrorCode: 0, ProducerId: req.ProducerId, ProducerEpoch: ((req.ProducerEpoch as number) + 1) & 0x7fff };
    return { ThrottleTimeMs: 0, ErrorCode: 0, ProducerId: BigInt(ctx.broker.topics.allocateProducerId()), ProducerEpoch: 0 };
  },
};
