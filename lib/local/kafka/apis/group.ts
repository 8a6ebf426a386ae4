/**
 * The consumer group family: FindCoordinator (10), JoinGroup (11), Heartbeat (12), LeaveGroup
 * (13), SyncGroup (14), DescribeGroups (15), ListGroups (16), OffsetCommit (8) and OffsetFetch
 * (9). This broker coordinates every group (see ../groups.ts for the state machine). It is also
 * named as the transaction coordinator, so that a transactional producer's next step,
 * InitProducerId, refuses its transactional id with TRANSACTIONAL_ID_AUTHORIZATION_FAILED — an
 * error every client reports as it is, where a failed coordinator lookup reads as a network fault.
 */
import { ErrorCode } from '../errors';
import { arrayOf, field, structs, type Message } from '../protocol';
import type { ApiDefinition } from './types';

export const findCoordinator: ApiDefinition = {
  key: 10,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 6,
  request: { flexibleFrom: 3, fields: [field('Key', 'string', '0-3'), field('KeyType', 'int8', '1+'), field('CoordinatorKeys', arrayOf('string'), '4+')] },
  response: {
    flexibleFrom: 3,
    fields: [
      field('ThrottleTimeMs', 'int32', '1+'),
      field('ErrorCode', 'int16', '0-3'),
      field('ErrorMessage', 'string', '1-3', { nullable: '1-3' }),
      field('NodeId', 'int32', '0-3'),
      field('Host', 'string', '0-3'),
      field('Port', 'int32', '0-3'),
      field(
        'Coordinators',
        structs([
          field('Key', 'string', '4+'),
          field('NodeId', 'int32', '4+'),
          field('Host', 'string', '4+'),
          field('Port', 'int32', '4+'),
          field('ErrorCode', 'int16', '4+'),
          field('ErrorMessage', 'string', '4+', { nullable: '4+' }),
        ]),
        '4+',
      ),
    ],
  },
  handle(req, ctx) {
    const b = ctx.broker;
    const one = (key: string): Message => ({ Key: key, NodeId: b.nodeId, Host: b.host, Port: b.port, ErrorCode: 0, ErrorMessage: null });
    if (ctx.version >= 4) return { ThrottleTimeMs: 0, Coordinators: (req.CoordinatorKeys as string[]).map(one) };
    return { ThrottleTimeMs: 0, ...one(req.Key as string) };
  },
};

export const joinGroup: ApiDefinition = {
  key: 11,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 9,
  request: {
    flexibleFrom: 6,
    fields: [
      field('GroupId', 'string', '0+'),
      field('SessionTimeoutMs', 'int32', '0+'),
      field('RebalanceTimeoutMs', 'int32', '1+', { default: -1 }),
      field('MemberId', 'string', '0+'),
      field('GroupInstanceId', 'string', '5+', { nullable: '5+', default: null }),
      field('ProtocolType', 'string', '0+'),
      field('Protocols', structs([field('Name', 'string', '0+'), field('Metadata', 'bytes', '0+')]), '0+'),
      field('Reason', 'string', '8+', { nullable: '8+', default: null }),
    ],
  },
  response: {
    flexibleFrom: 6,
    fields: [
      field('ThrottleTimeMs', 'int32', '2+'),
      field('ErrorCode', 'int16', '0+'),
      field('GenerationId', 'int32', '0+', { default: -1 }),
      field('ProtocolType', 'string', '7+', { nullable: '7+', default: null }),
      field('ProtocolName', 'string', '0+', { nullable: '7+' }),
      field('Leader', 'string', '0+'),
      field('SkipAssignment', 'bool', '9+'),
      field('MemberId', 'string', '0+'),
      field('Members', structs([field('MemberId', 'string', '0+'), field('GroupInstanceId', 'string', '5+', { nullable: '5+', default: null }), field('Metadata', 'bytes', '0+')]), '0+'),
    ],
  },
  async handle(req, ctx) {
    const session = req.SessionTimeoutMs as number;
    const r = await ctx.broker.groups.join({
      groupId: req.GroupId as string,
      memberId: req.MemberId as string,
      groupInstanceId: req.GroupInstanceId as string | null,
      protocolType: req.ProtocolType as string,
      protocols: (req.Protocols as Message[]).map((p) => ({ name: p.Name as string, metadata: Buffer.from(p.Metadata as Buffer) })),
      sessionTimeoutMs: session,
      rebalanceTimeoutMs: (req.RebalanceTimeoutMs as number) > 0 ? (req.RebalanceTimeoutMs as number) : session,
      clientId: ctx.clientId,
      clientHost: ctx.clientHost,
      requireKnownMemberId: ctx.version >= 4,
    });
    // Before v7 a protocol name cannot be null.
    const protocolName = r.protocolName ?? (ctx.version < 7 ? '' : null);
    return {
      ThrottleTimeMs: 0,
      ErrorCode: r.errorCode,
      GenerationId: r.generationId,
      ProtocolType: r.protocolType,
      ProtocolName: protocolName,
      Leader: r.leader,
      MemberId: r.memberId,
      Members: r.members.map((m) => ({ MemberId: m.memberId, GroupInstanceId: m.groupInstanceId, Metadata: m.metadata })),
    };
  },
};

export const syncGroup: ApiDefinition = {
  key: 14,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 5,
  request: {
    flexibleFrom: 4,
    fields: [
      field('GroupId', 'string', '0+'),
      field('GenerationId', 'int32', '0+'),
      field('MemberId', 'string', '0+'),
      field('GroupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
      field('ProtocolType', 'string', '5+', { nullable: '5+', default: null }),
      field('ProtocolName', 'string', '5+', { nullable: '5+', default: null }),
      field('Assignments', structs([field('MemberId', 'string', '0+'), field('Assignment', 'bytes', '0+')]), '0+'),
    ],
  },
  response: {
    flexibleFrom: 4,
    fields: [
      field('ThrottleTimeMs', 'int32', '1+'),
      field('ErrorCode', 'int16', '0+'),
      field('ProtocolType', 'string', '5+', { nullable: '5+', default: null }),
      field('ProtocolName', 'string', '5+', { nullable: '5+', default: null }),
      field('Assignment', 'bytes', '0+'),
    ],
  },
  async handle(req, ctx) {
    const r = await ctx.broker.groups.sync({
      groupId: req.GroupId as string,
      memberId: req.MemberId as string,
      generationId: req.GenerationId as number,
      assignments: (req.Assignments as Message[]).map((a) => ({ memberId: a.MemberId as string, assignment: Buffer.from(a.Assignment as Buffer) })),
    });
    return { ThrottleTimeMs: 0, ErrorCode: r.errorCode, ProtocolType: r.protocolType, ProtocolName: r.protocolName, Assignment: r.assignment };
  },
};

export const heartbeat: ApiDefinition = {
  key: 12,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 4,
  request: {
    flexibleFrom: 4,
    fields: [field('GroupId', 'string', '0+'), field('GenerationId', 'int32', '0+'), field('MemberId', 'string', '0+'), field('GroupInstanceId', 'string', '3+', { nullable: '3+', default: null })],
  },
  response: { flexibleFrom: 4, fields: [field('ThrottleTimeMs', 'int32', '1+'), field('ErrorCode', 'int16', '0+')] },
  handle: (req, ctx) => ({
    ThrottleTimeMs: 0,
    ErrorCode: ctx.broker.groups.heartbeat({ groupId: req.GroupId as string, memberId: req.MemberId as string, generationId: req.GenerationId as number }),
  }),
};

export const leaveGroup: ApiDefinition = {
  key: 13,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 5,
  request: {
    flexibleFrom: 4,
    fields: [
      field('GroupId', 'string', '0+'),
      field('MemberId', 'string', '0-2'),
      field('Members', structs([field('MemberId', 'string', '3+'), field('GroupInstanceId', 'string', '3+', { nullable: '3+', default: null }), field('Reason', 'string', '5+', { nullable: '5+', default: null })]), '3+'),
    ],
  },
  response: {
    flexibleFrom: 4,
    fields: [
      field('ThrottleTimeMs', 'int32', '1+'),
      field('ErrorCode', 'int16', '0+'),
      field('Members', structs([field('MemberId', 'string', '3+'), field('GroupInstanceId', 'string', '3+', { nullable: '3+' }), field('ErrorCode', 'int16', '3+')]), '3+'),
    ],
  },
  handle(req, ctx) {
    const ids = ctx.version >= 3 ? (req.Members as Message[]).map((m) => m.MemberId as string) : [req.MemberId as string];
    const codes = ctx.broker.groups.leave(req.GroupId as string, ids);
    if (ctx.version < 3) return { ThrottleTimeMs: 0, ErrorCode: codes[0] };
    return { ThrottleTimeMs: 0, ErrorCode: 0, Members: ids.map((id, i) => ({ MemberId: id, GroupInstanceId: (req.Members as Message[])[i]!.GroupInstanceId, ErrorCode: codes[i] })) };
  },
};

export const offsetCommit: ApiDefinition = {
  key: 8,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 9,
  request: {
    flexibleFrom: 8,
    fields: [
      field('GroupId', 'string', '0+'),
      field('GenerationIdOrMemberEpoch', 'int32', '1+', { default: -1 }),
      field('MemberId', 'string', '1+'),
      field('GroupInstanceId', 'string', '7+', { nullable: '7+', default: null }),
      field('RetentionTimeMs', 'int64', '2-4', { default: -1n }),
      field(
        'Topics',
        structs([
          field('Name', 'string', '0+'),
          field(
            'Partitions',
            structs([
              field('PartitionIndex', 'int32', '0+'),
              field('CommittedOffset', 'int64', '0+'),
              field('CommittedLeaderEpoch', 'int32', '6+', { default: -1 }),
              field('CommitTimestamp', 'int64', '1', { default: -1n }),
              field('CommittedMetadata', 'string', '0+', { nullable: '0+' }),
            ]),
            '0+',
          ),
        ]),
        '0+',
      ),
    ],
  },
  response: {
    flexibleFrom: 8,
    fields: [
      field('ThrottleTimeMs', 'int32', '3+'),
      field('Topics', structs([field('Name', 'string', '0+'), field('Partitions', structs([field('PartitionIndex', 'int32', '0+'), field('ErrorCode', 'int16', '0+')]), '0+')]), '0+'),
    ],
  },
  handle(req, ctx) {
    const b = ctx.broker;
    const topics = req.Topics as Message[];
    const unknown = (t: Message, p: Message) => !b.topics.get(t.Name as string)?.partitions[p.PartitionIndex as number];
    const offsets = topics.flatMap((t) =>
      (t.Partitions as Message[])
        .filter((p) => !unknown(t, p))
        .map((p) => ({ topic: t.Name as string, partition: p.PartitionIndex as number, offset: p.CommittedOffset as bigint, leaderEpoch: p.CommittedLeaderEpoch as number, metadata: p.CommittedMetadata as string | null })),
    );
    const code = b.groups.commit(req.GroupId as string, req.MemberId as string, req.GenerationIdOrMemberEpoch as number, offsets);
    return {
      ThrottleTimeMs: 0,
      Topics: topics.map((t) => ({
        Name: t.Name,
        Partitions: (t.Partitions as Message[]).map((p) => ({ PartitionIndex: p.PartitionIndex, ErrorCode: unknown(t, p) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : code })),
      })),
    };
  },
};

const offsetPartition = (v: string) => [
  field('PartitionIndex', 'int32', v),
  field('CommittedOffset', 'int64', v),
  field('CommittedLeaderEpoch', 'int32', v === '0-7' ? '5-7' : v, { default: -1 }),
  field('Metadata', 'string', v, { nullable: v }),
  field('ErrorCode', 'int16', v),
];

export const offsetFetch: ApiDefinition = {
  key: 9,
  name: 'OffsetFetch',
  minVersion: 1,
  maxVersion: 9,
  request: {
    flexibleFrom: 6,
    fields: [
      field('GroupId', 'string', '0-7'),
      field('Topics', structs([field('Name', 'string', '0-7'), field('PartitionIndexes', arrayOf('int32'), '0-7')]), '0-7', { nullable: '2-7' }),
      field(
        'Groups',
        structs([
          field('GroupId', 'string', '8+'),
          field('MemberId', 'string', '9+', { nullable: '9+', default: null }),
          field('MemberEpoch', 'int32', '9+', { default: -1 }),
          field('Topics', structs([field('Name', 'string', '8+'), field('PartitionIndexes', arrayOf('int32'), '8+')]), '8+', { nullable: '8+' }),
        ]),
        '8+',
      ),
      field('RequireStable', 'bool', '7+'),
    ],
  },
  response: {
    flexibleFrom: 6,
    fields: [
      field('ThrottleTimeMs', 'int32', '3+'),
      field('Topics', structs([field('Name', 'string', '0-7'), field('Partitions', structs(offsetPartition('0-7')), '0-7')]), '0-7'),
      field('ErrorCode', 'int16', '2-7'),
      field(
        'Groups',
        structs([field('GroupId', 'string', '8+'), field('Topics', structs([field('Name', 'string', '8+'), field('Partitions', structs(offsetPartition('8+')), '8+')]), '8+'), field('ErrorCode', 'int16', '8+')]),
        '8+',
      ),
    ],
  },
  handle(req, ctx) {
    const groups = ctx.broker.groups;
    const fetchOne = (groupId: string, topics: Message[] | null) =>
      groups
        .committed(
          groupId,
          topics && topics.map((t) => ({ name: t.Name as string, partitions: t.PartitionIndexes as number[] })),
        )
        .map((t) => ({
          Name: t.topic,
          Partitions: t.partitions.map((p) => ({
            PartitionIndex: p.partition,
            CommittedOffset: p.offset?.offset ?? -1n,
            CommittedLeaderEpoch: p.offset?.leaderEpoch ?? -1,
            Metadata: p.offset?.metadata ?? '',
            ErrorCode: 0,
          })),
        }));
    if (ctx.version >= 8) {
      return { ThrottleTimeMs: 0, Groups: (req.Groups as Message[]).map((g) => ({ GroupId: g.GroupId, Topics: fetchOne(g.GroupId as string, g.Topics as Message[] | null), ErrorCode: 0 })) };
    }
    return { ThrottleTimeMs: 0, Topics: fetchOne(req.GroupId as string, req.Topics as Message[] | null), ErrorCode: 0 };
  },
};

export const describeGroups: ApiDefinition = {
  key: 15,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 5,
  request: { flexibleFrom: 5, fields: [field('Groups', arrayOf('string'), '0+'), field('IncludeAuthorizedOperations', 'bool', '3+')] },
  response: {
    flexibleFrom: 5,
    fields: [
      field('ThrottleTimeMs', 'int32', '1+'),
      field(
        'Groups',
        structs([
          field('ErrorCode', 'int16', '0+'),
          field('GroupId', 'string', '0+'),
          field('GroupState', 'string', '0+'),
          field('ProtocolType', 'string', '0+'),
          field('ProtocolData', 'string', '0+'),
          field(
            'Members',
            structs([
              field('MemberId', 'string', '0+'),
              field('GroupInstanceId', 'string', '4+', { nullable: '4+', default: null }),
              field('ClientId', 'string', '0+'),
              field('ClientHost', 'string', '0+'),
              field('MemberMetadata', 'bytes', '0+'),
              field('MemberAssignment', 'bytes', '0+'),
            ]),
            '0+',
          ),
          field('AuthorizedOperations', 'int32', '3+', { default: -2147483648 }),
        ]),
        '0+',
      ),
    ],
  },
  handle(req, ctx) {
    return {
      ThrottleTimeMs: 0,
      Groups: (req.Groups as string[]).map((id) => {
        const d = ctx.broker.groups.describe(id);
        if (!d) return { ErrorCode: 0, GroupId: id, GroupState: 'Dead', ProtocolType: '', ProtocolData: '', Members: [] };
        return {
          ErrorCode: 0,
          GroupId: id,
          GroupState: d.state,
          ProtocolType: d.protocolType,
          ProtocolData: d.protocol,
          Members: d.members.map((m) => ({ MemberId: m.memberId, GroupInstanceId: m.groupInstanceId, ClientId: m.clientId, ClientHost: m.clientHost, MemberMetadata: m.metadata, MemberAssignment: m.assignment })),
        };
      }),
    };
  },
};

export const listGroups: ApiDefinition = {
  key: 16,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 5,
  request: { flexibleFrom: 3, fields: [field('StatesFilter', arrayOf('string'), '4+'), field('TypesFilter', arrayOf('string'), '5+')] },
  response: {
    flexibleFrom: 3,
    fields: [
      field('ThrottleTimeMs', 'int32', '1+'),
      field('ErrorCode', 'int16', '0+'),
      field('Groups', structs([field('GroupId', 'string', '0+'), field('ProtocolType', 'string', '0+'), field('GroupState', 'string', '4+'), field('GroupType', 'string', '5+')]), '0+'),
    ],
  },
  handle(req, ctx) {
    const states = (req.StatesFilter as string[]).map((s) => s.toLowerCase());
    const types = (req.TypesFilter as string[]).map((s) => s.toLowerCase());
    return {
      ThrottleTimeMs: 0,
      ErrorCode: 0,
      Groups: ctx.broker.groups
        .list()
        .filter((g) => (!states.length || states.includes(g.state.toLowerCase())) && (!types.length || types.includes('classic')))
        .map((g) => ({ GroupId: g.groupId, ProtocolType: g.protocolType, GroupState: g.state, GroupType: 'classic' })),
    };
  },
};
