/**
 * ApiVersions (18) and Metadata (3): what the broker implements, and where topics live (here: all
 * on this one broker, node 0, leader of every partition). Metadata auto-creates topics as Kafka
 * does by default (`auto.create.topics.enable`), when the request allows it (v4+).
 */
import { ErrorCode } from '../errors';
import { TopicError, type Topic } from '../log';
import { arrayOf, field, structs, type Message } from '../protocol';
import type { ApiDefinition, RequestContext } from './types';

export const apiVersions: ApiDefinition = {
  key: 18,
  name: 'ApiVersions',
  minVersion: 0,
  maxVersion: 4,
  request: { flexibleFrom: 3, fields: [field('ClientSoftwareName', 'string', '3+'), field('ClientSoftwareVersion', 'string', '3+')] },
  response: {
    flexibleFrom: 3,
    fields: [
      field('ErrorCode', 'int16', '0+'),
      field('ApiKeys', structs([field('ApiKey', 'int16', '0+'), field('MinVersion', 'int16', '0+'), field('MaxVersion', 'int16', '0+')]), '0+'),
      field('ThrottleTimeMs', 'int32', '1+'),
    ],
  },
  handle: (_req, ctx) => ({ ErrorCode: 0, ApiKeys: apiKeys(ctx), ThrottleTimeMs: 0 }),
};

/** The ApiVersions list (also sent, in v0 form, to a client that asked with a version we lack). */
export function apiKeys(ctx: Pick<RequestContext, 'broker'>): Message[] {
  return [...ctx.broker.apis].sort((a, b) => a.key - b.key).map((a) => ({ ApiKey: a.key, MinVersion: a.minVersion, MaxVersion: a.maxVersion }));
}

const partitionFields = [
  field('ErrorCode', 'int16', '0+'),
  field('PartitionIndex', 'int32', '0+'),
  field('LeaderId', 'int32', '0+'),
  field('LeaderEpoch', 'int32', '7+', { default: -1 }),
  field('ReplicaNodes', arrayOf('int32'), '0+'),
  field('IsrNodes', arrayOf('int32'), '0+'),
  field('OfflineReplicas', arrayOf('int32'), '5+'),
];

export const metadata: ApiDefinition = {
  key: 3,
  name: 'Metadata',
  minVersion: 0,
  maxVersion: 12,
  request: {
    flexibleFrom: 9,
    fields: [
      field('Topics', structs([field('TopicId', 'uuid', '10+'), field('Name', 'string', '0+', { nullable: '10+' })]), '0+', { nullable: '1+' }),
      field('AllowAutoTopicCreation', 'bool', '4+', { default: true }),
      field('IncludeClusterAuthorizedOperations', 'bool', '8-10'),
      field('IncludeTopicAuthorizedOperations', 'bool', '8+'),
    ],
  },
  response: {
    flexibleFrom: 9,
    fields: [
      field('ThrottleTimeMs', 'int32', '3+'),
      field('Brokers', structs([field('NodeId', 'int32', '0+'), field('Host', 'string', '0+'), field('Port', 'int32', '0+'), field('Rack', 'string', '1+', { nullable: '1+', default: null })]), '0+'),
      field('ClusterId', 'string', '2+', { nullable: '2+', default: null }),
      field('ControllerId', 'int32', '1+', { default: -1 }),
      field(
        'Topics',
        structs([
          field('ErrorCode', 'int16', '0+'),
          field('Name', 'string', '0+', { nullable: '12+' }),
          field('TopicId', 'uuid', '10+'),
          field('IsInternal', 'bool', '1+'),
          field('Partitions', structs(partitionFields), '0+'),
          field('TopicAuthorizedOperations', 'int32', '8+', { default: -2147483648 }),
        ]),
        '0+',
      ),
      field('ClusterAuthorizedOperations', 'int32', '8-10', { default: -2147483648 }),
    ],
  },
  handle(req, ctx) {
    const b = ctx.broker;
    const describe = (t: Topic): Message => ({
      ErrorCode: 0,
      Name: t.name,
      TopicId: t.id,
      IsInternal: false,
      Partitions: t.partitions.map((p) => ({ ErrorCode: 0, PartitionIndex: p.partition, LeaderId: b.nodeId, LeaderEpoch: 0, ReplicaNodes: [b.nodeId], IsrNodes: [b.nodeId], OfflineReplicas: [] })),
    });
    // v0: an empty list means every topic; v1+: null means every topic.
    const all = req.Topics === null || (ctx.version === 0 && req.Topics.length === 0);
    const topics: Message[] = [];
    if (all) for (const t of b.topics.topics.values()) topics.push(describe(t));
    else {
      for (const want of req.Topics as Message[]) {
        if (want.Name === null) {
          const t = b.topics.getById(want.TopicId);
          topics.push(t ? describe(t) : { ErrorCode: ErrorCode.UNKNOWN_TOPIC_ID, Name: null, TopicId: want.TopicId, Partitions: [] });
          continue;
        }
        const name = want.Name as string;
        let t = b.topics.get(name);
        let code: number = ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
        if (!t && req.AllowAutoTopicCreation !== false) {
          try {
            t = b.autoCreate(name);
          } catch (e) {
            if (e instanceof TopicError) code = e.errorCode;
            else throw e;
          }
        }
        topics.push(t ? describe(t) : { ErrorCode: code, Name: name, TopicId: Buffer.alloc(16), Partitions: [] });
      }
    }
    return {
      ThrottleTimeMs: 0,
      Brokers: [{ NodeId: b.nodeId, Host: b.host, Port: b.port, Rack: null }],
      ClusterId: b.clusterId,
      ControllerId: b.nodeId,
      Topics: topics,
    };
  },
};
