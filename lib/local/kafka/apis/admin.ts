/**
 * Topic administration: CreateTopics (19), DeleteTopics (20), CreatePartitions (37) and
 * DescribeConfigs (32). One broker means a replication factor of 1 (or -1, the default); a
 * topic's settings are the known topic configs (../log.ts TOPIC_CONFIG_DEFAULTS).
 */
import { ErrorCode } from '../errors';
import { TOPIC_CONFIG_DEFAULTS, TopicError, type Topic } from '../log';
import { arrayOf, field, structs, type Message } from '../protocol';
import type { ApiDefinition, BrokerState } from './types';

const CONFIG_SOURCE = { DYNAMIC_TOPIC: 1, STATIC_BROKER: 4, DEFAULT: 5 } as const;
const RESOURCE = { TOPIC: 2, BROKER: 4 } as const;

function topicConfigs(b: BrokerState, t: Topic): { name: string; value: string; source: number }[] {
  return Object.keys(TOPIC_CONFIG_DEFAULTS)
    .sort()
    .map((name) => ({ name, value: b.topics.config(t, name)!, source: name in t.configs ? CONFIG_SOURCE.DYNAMIC_TOPIC : CONFIG_SOURCE.DEFAULT }));
}

function brokerConfigs(b: BrokerState): { name: string; value: string; source: number }[] {
  return [
    { name: 'auto.create.topics.enable', value: String(b.autoCreateTopics), source: CONFIG_SOURCE.STATIC_BROKER },
    { name: 'broker.id', value: String(b.nodeId), source: CONFIG_SOURCE.STATIC_BROKER },
    { name: 'message.max.bytes', value: TOPIC_CONFIG_DEFAULTS['max.message.bytes']!, source: CONFIG_SOURCE.DEFAULT },
    { name: 'num.partitions', value: String(b.defaultPartitions), source: CONFIG_SOURCE.STATIC_BROKER },
    { name: 'offsets.topic.replication.factor', value: '1', source: CONFIG_SOURCE.STATIC_BROKER },
    { name: 'transaction.state.log.replication.factor', value: '1', source: CONFIG_SOURCE.STATIC_BROKER },
  ];
}

export const createTopics: ApiDefinition = {
  key: 19,
  name: 'CreateTopics',
  minVersion: 0,
  maxVersion: 7,
  request: {
    flexibleFrom: 5,
    fields: [
      field(
        'Topics',
        structs([
          field('Name', 'string', '0+'),
          field('NumPartitions', 'int32', '0+'),
          field('ReplicationFactor', 'int16', '0+'),
          field('Assignments', structs([field('PartitionIndex', 'int32', '0+'), field('BrokerIds', arrayOf('int32'), '0+')]), '0+'),
          field('Configs', structs([field('Name', 'string', '0+'), field('Value', 'string', '0+', { nullable: '0+' })]), '0+'),
        ]),
        '0+',
      ),
      field('TimeoutMs', 'int32', '0+', { default: 60000 }),
      field('ValidateOnly', 'bool', '1+'),
    ],
  },
  response: {
    flexibleFrom: 5,
    fields: [
      field('ThrottleTimeMs', 'int32', '2+'),
      field(
        'Topics',
        structs([
          field('Name', 'string', '0+'),
          field('TopicId', 'uuid', '7+'),
          field('ErrorCode', 'int16', '0+'),
          field('ErrorMessage', 'string', '1+', { nullable: '0+' }),
          field('NumPartitions', 'int32', '5+', { default: -1 }),
          field('ReplicationFactor', 'int16', '5+', { default: -1 }),
          field(
            'Configs',
            structs([field('Name', 'string', '5+'), field('Value', 'string', '5+', { nullable: '5+' }), field('ReadOnly', 'bool', '5+'), field('ConfigSource', 'int8', '5+', { default: -1 }), field('IsSensitive', 'bool', '5+')]),
            '5+',
            { nullable: '5+' },
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
        const name = t.Name as string;
        const assignments = t.Assignments as Message[];
        const partitions = assignments.length > 0 ? assignments.length : (t.NumPartitions as number) === -1 ? b.defaultPartitions : (t.NumPartitions as number);
        const rf = t.ReplicationFactor as number;
        const fail = (code: number, message: string) => ({ Name: name, ErrorCode: code, ErrorMessage: message, Configs: null });
        if (rf !== -1 && rf !== 1 && assignments.length === 0) return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${rf} is larger than the 1 broker available`);
        if (assignments.some((a) => (a.BrokerIds as number[]).some((id) => id !== b.nodeId))) return fail(ErrorCode.INVALID_REPLICATION_FACTOR, `assignments may only name broker ${b.nodeId}`);
        const configs: Record<string, string> = {};
        for (const c of t.Configs as Message[]) if (c.Value !== null) configs[c.Name as string] = c.Value as string;
        try {
          const created = b.topics.create(name, partitions, configs, req.ValidateOnly as boolean);
          const topic = created ?? ({ name, id: Buffer.alloc(16), partitions: [], configs } as Topic);
          return {
            Name: name,
            TopicId: topic.id,
            ErrorCode: 0,
            ErrorMessage: null,
            NumPartitions: partitions,
            ReplicationFactor: 1,
            Configs: topicConfigs(b, topic).map((c) => ({ Name: c.name, Value: c.value, ReadOnly: false, ConfigSource: c.source, IsSensitive: false })),
          };
        } catch (e) {
          if (e instanceof TopicError) return fail(e.errorCode, e.message);
          throw e;
        }
      }),
    };
  },
};

export const deleteTopics: ApiDefinition = {
  key: 20,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 6,
  request: {
    flexibleFrom: 4,
    fields: [
      field('Topics', structs([field('Name', 'string', '6+', { nullable: '6+', default: null }), field('TopicId', 'uuid', '6+')]), '6+'),
      field('TopicNames', arrayOf('string'), '0-5'),
      field('TimeoutMs', 'int32', '0+'),
    ],
  },
  response: {
    flexibleFrom: 4,
    fields: [
      field('ThrottleTimeMs', 'int32', '1+'),
      field(
        'Responses',
        structs([field('Name', 'string', '0+', { nullable: '6+' }), field('TopicId', 'uuid', '6+'), field('ErrorCode', 'int16', '0+'), field('ErrorMessage', 'string', '5+', { nullable: '5+', default: null })]),
        '0+',
      ),
    ],
  },
  handle(req, ctx) {
    const b = ctx.broker;
    const wanted: { name: string | null; id: Buffer | null }[] =
      ctx.version >= 6 ? (req.Topics as Message[]).map((t) => ({ name: t.Name as string | null, id: t.TopicId as Buffer })) : (req.TopicNames as string[]).map((name) => ({ name, id: null }));
    return {
      ThrottleTimeMs: 0,
      Responses: wanted.map((w) => {
        const topic = w.name !== null ? b.topics.get(w.name) : b.topics.getById(w.id!);
        if (!topic) {
          const code = w.name === null ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
          return { Name: w.name, TopicId: w.id ?? Buffer.alloc(16), ErrorCode: code, ErrorMessage: 'this topic does not exist' };
        }
        b.topics.delete(topic.name);
        b.groups.forgetTopic(topic.name);
        return { Name: topic.name, TopicId: topic.id, ErrorCode: 0, ErrorMessage: null };
      }),
    };
  },
};

export const createPartitions: ApiDefinition = {
  key: 37,
  name: 'CreatePartitions',
  minVersion: 0,
  maxVersion: 3,
  request: {
    flexibleFrom: 2,
    fields: [
      field('Topics', structs([field('Name', 'string', '0+'), field('Count', 'int32', '0+'), field('Assignments', structs([field('BrokerIds', arrayOf('int32'), '0+')]), '0+', { nullable: '0+' })]), '0+'),
      field('TimeoutMs', 'int32', '0+'),
      field('ValidateOnly', 'bool', '0+'),
    ],
  },
  response: {
    flexibleFrom: 2,
    fields: [
      field('ThrottleTimeMs', 'int32', '0+'),
      field('Results', structs([field('Name', 'string', '0+'), field('ErrorCode', 'int16', '0+'), field('ErrorMessage', 'string', '0+', { nullable: '0+', default: null })]), '0+'),
    ],
  },
  handle(req, ctx) {
    return {
      ThrottleTimeMs: 0,
      Results: (req.Topics as Message[]).map((t) => {
        try {
          ctx.broker.topics.addPartitions(t.Name as string, t.Count as number, req.ValidateOnly as boolean);
          return { Name: t.Name, ErrorCode: 0, ErrorMessage: null };
        } catch (e) {
          if (e instanceof TopicError) return { Name: t.Name, ErrorCode: e.errorCode, ErrorMessage: e.message };
          throw e;
        }
      }),
    };
  },
};

export const describeConfigs: ApiDefinition = {
  key: 32,
  name: 'DescribeConfigs',
  minVersion: 0,
  maxVersion: 4,
  request: {
    flexibleFrom: 4,
    fields: [
      field('Resources', structs([field('ResourceType', 'int8', '0+'), field('ResourceName', 'string', '0+'), field('ConfigurationKeys', arrayOf('string'), '0+', { nullable: '0+' })]), '0+'),
      field('IncludeSynonyms', 'bool', '1+'),
      field('IncludeDocumentation', 'bool', '3+'),
    ],
  },
  response: {
    flexibleFrom: 4,
    fields: [
      field('ThrottleTimeMs', 'int32', '0+'),
      field(
        'Results',
        structs([
          field('ErrorCode', 'int16', '0+'),
          field('ErrorMessage', 'string', '0+', { nullable: '0+' }),
          field('ResourceType', 'int8', '0+'),
          field('ResourceName', 'string', '0+'),
          field(
            'Configs',
            structs([
              field('Name', 'string', '0+'),
              field('Value', 'string', '0+', { nullable: '0+' }),
              field('ReadOnly', 'bool', '0+'),
              field('IsDefault', 'bool', '0'),
              field('ConfigSource', 'int8', '1+', { default: -1 }),
              field('IsSensitive', 'bool', '0+'),
              field('Synonyms', structs([field('Name', 'string', '1+'), field('Value', 'string', '1+', { nullable: '0+' }), field('Source', 'int8', '1+')]), '1+'),
              field('ConfigType', 'int8', '3+'),
              field('Documentation', 'string', '3+', { nullable: '0+' }),
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
      Results: (req.Resources as Message[]).map((r) => {
        const type = r.ResourceType as number;
        const name = r.ResourceName as string;
        const keys = r.ConfigurationKeys as string[] | null;
        const base = { ResourceType: type, ResourceName: name };
        let configs: { name: string; value: string; source: number }[];
        if (type === RESOURCE.TOPIC) {
          const t = b.topics.get(name);
          if (!t) return { ...base, ErrorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorMessage: `topic "${name}" does not exist`, Configs: [] };
          configs = topicConfigs(b, t);
        } else if (type === RESOURCE.BROKER && (name === '' || name === String(b.nodeId))) configs = brokerConfigs(b);
        else return { ...base, ErrorCode: ErrorCode.INVALID_REQUEST, ErrorMessage: `resource type ${type} "${name}" is not described by the embedded broker (topics and broker ${b.nodeId} are)`, Configs: [] };
        return {
          ...base,
          ErrorCode: 0,
          ErrorMessage: null,
          Configs: configs
            .filter((c) => !keys || keys.includes(c.name))
            .map((c) => ({ Name: c.name, Value: c.value, ReadOnly: false, IsDefault: c.source === CONFIG_SOURCE.DEFAULT, ConfigSource: c.source, IsSensitive: false, Synonyms: [], Documentation: null })),
        };
      }),
    };
  },
};
