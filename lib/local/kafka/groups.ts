/**
 * The group coordinator of the classic consumer group protocol (JoinGroup, SyncGroup, Heartbeat,
 * LeaveGroup, OffsetCommit/Fetch), following Kafka's GroupCoordinator state machine:
 *
 * ```
 * Empty ──join──▶ PreparingRebalance ──all joined / rebalance timeout──▶ CompletingRebalance
 *   ▲                  ▲        │                                            │ leader's SyncGroup
 *   └── last member    │        └──────────── no member left ──▶ Empty       ▼
 *       leaves ────────┴──── join, leave or session expiry ─────────────── Stable
 * ```
 *
 * - A member that joins with an empty id (JoinGroup v4+) gets MEMBER_ID_REQUIRED and its new id,
 *   and joins again with it (KIP-394).
 * - A rebalance completes when every member has rejoined, or when the largest rebalance timeout
 *   has passed (members that did not rejoin are removed). A new group waits
 *   {@link GroupCoordinatorOptions.initialRebalanceDelayMs} for more members first, as Kafka's
 *   `group.initial.rebalance.delay.ms`.
 * - A member that sends no heartbeat (or join/sync) within its session timeout is removed and the
 *   group rebalances.
 * - Committed offsets are persisted under `<dir>/groups/` and survive a restart.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCode } from './errors';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

interface Member {
  id: string;
  instanceId: string | null;
  clientId: string;
  clientHost: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: { name: string; metadata: Buffer }[];
  assignment: Buffer;
  /** Set while its JoinGroup waits for the rebalance to complete. */
  awaitingJoin: ((r: JoinResult) => void) | null;
  /** Set while its SyncGroup waits for the leader's assignments. */
  awaitingSync: ((r: SyncResult) => void) | null;
  sessionTimer: NodeJS.Timeout | null;
}

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface CommittedOffset {
  offset: bigint;
  leaderEpoch: number;
  metadata: string | null;
}

class Group {
  state: GroupState = 'Empty';
  generation = 0;
  protocolType: string | null = null;
  protocol: string | null = null;
  leader: string | null = null;
  readonly members = new Map<string, Member>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, not yet joined. */
  readonly pending = new Set<string>();
  readonly offsets = new Map<string, CommittedOffset>();
  rebalanceTimer: NodeJS.Timeout | null = null;
  delayTimer: NodeJS.Timeout | null = null;

  constructor(readonly id: string) {}
}

export interface GroupCoordinatorOptions {
  /** Where committed offsets are persisted; null keeps them in memory. */
  dir: string | null;
  /** How long a new group waits for more members before its first generation. @default 100 */
  initialRebalanceDelayMs?: number;
  /** Accepted session timeouts (Kafka's group.min/max.session.timeout.ms). @default [1000, 300000] */
  sessionTimeoutRange?: [number, number];
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/** The consumer group coordinator of the embedded broker. */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly dir: string | null;
  private readonly initialDelay: number;
  private readonly sessionRange: [number, number];

  constructor(opts: GroupCoordinatorOptions) {
    this.dir = opts.dir;
    this.initialDelay = opts.initialRebalanceDelayMs ?? 100;
    this.sessionRange = opts.sessionTimeoutRange ?? [1000, 300_000];
    if (this.dir) {
      mkdirSync(this.dir, { recursive: true });
      for (const f of readdirSync(this.dir)) {
        if (!f.endsWith('.json')) continue;
        const saved = JSON.parse(readFileSync(join(this.dir, f), 'utf8')) as { groupId: string; offsets: { topic: string; partition: number; offset: string; leaderEpoch: number; metadata: string | null }[] };
        const g = this.group(saved.groupId);
        for (const o of saved.offsets) g.offsets.set(key(o.topic, o.partition), { offset: BigInt(o.offset), leaderEpoch: o.leaderEpoch, metadata: o.metadata });
      }
    }
  }

  private group(id: string): Group {
    let g = this.groups.get(id);
    if (!g) this.groups.set(id, (g = new Group(id)));
    return g;
  }

  private persist(g: Group): void {
    if (!this.dir) return;
    const offsets = [...g.offsets].map(([k, o]) => {
      const [topic, partition] = k.split('\u0000');
      return { topic: topic!, partition: Number(partition), offset: String(o.offset), leaderEpoch: o.leaderEpoch, metadata: o.metadata };
    });
    const file = join(this.dir, `${Buffer.from(g.id, 'utf8').toString('hex')}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify({ groupId: g.id, offsets }));
    renameSync(`${file}.tmp`, file);
  }

  /** JoinGroup: resolves when the rebalance this join belongs to completes. */
  join(req: {
    groupId: string;
    memberId: string;
    groupInstanceId: string | null;
    protocolType: string;
    protocols: { name: string; metadata: Buffer }[];
    sessionTimeoutMs: number;
    rebalanceTimeoutMs: number;
    clientId: string;
    clientHost: string;
    requireKnownMemberId: boolean;
  }): Promise<JoinResult> {
    const fail = (errorCode: number, memberId = req.memberId): Promise<JoinResult> =>
      Promise.resolve({ errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] });
    if (!req.groupId) return fail(ErrorCode.INVALID_GROUP_ID);
    if (req.sessionTimeoutMs < this.sessionRange[0] || req.sessionTimeoutMs > this.sessionRange[1]) return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    const g = this.group(req.groupId);
    if (g.members.size > 0 && g.protocolType !== req.protocolType) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    if (g.members.size > 0 && !req.protocols.some((p) => this.allSupport(g, p.name))) return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);

    let memberId = req.memberId;
    if (!memberId) {
      memberId = `${req.clientId || 'member'}-${randomUUID()}`;
      if (req.requireKnownMemberId) {
        g.pending.add(memberId);
        return fail(ErrorCode.MEMBER_ID_REQUIRED, memberId);
      }
    } else if (!g.members.has(memberId) && !g.pending.has(memberId)) {
      return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    }
    g.pending.delete(memberId);

    let m = g.members.get(memberId);
    const changed = !m || JSON.stringify(m.protocols.map((p) => [p.name, p.metadata.toString('base64')])) !== JSON.stringify(req.protocols.map((p) => [p.name, p.metadata.toString('base64')]));
    if (!m) {
      m = {
        id: memberId,
        instanceId: req.groupInstanceId,
        clientId: req.clientId,
        clientHost: req.clientHost,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        protocols: req.protocols,
        assignment: Buffer.alloc(0),
        awaitingJoin: null,
        awaitingSync: null,
        sessionTimer: null,
      };
      g.members.set(memberId, m);
    } else {
      m.protocols = req.protocols;
      m.sessionTimeoutMs = req.sessionTimeoutMs;
      m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
    }
    if (g.members.size === 1) g.protocolType = req.protocolType;
    const member = m;
    const result = new Promise<JoinResult>((resolve) => {
      member.awaitingJoin?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] });
      member.awaitingJoin = resolve;
    });
    this.clearSession(member); // a member waiting for its join is not expired
    // A known member of a stable group rejoining with the same protocols gets the current generation.
    if (g.state === 'Stable' && !changed && g.leader !== memberId) {
      this.respondJoin(g, member);
      return result;
    }
    if (g.state === 'PreparingRebalance') this.maybeCompleteJoin(g);
    else this.prepareRebalance(g);
    return result;
  }

  private allSupport(g: Group, protocol: string): boolean {
    for (const m of g.members.values()) if (!m.protocols.some((p) => p.name === protocol)) return false;
    return true;
  }

  private prepareRebalance(g: Group): void {
    const wasEmpty = g.state === 'Empty';
    if (g.state === 'CompletingRebalance') {
      for (const m of g.members.values()) this.respondSync(m, { errorCode: ErrorCode.REBALANCE_IN_PROGRESS, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) });
    }
    g.state = 'PreparingRebalance';
    this.clearTimers(g);
    const timeout = Math.max(0, ...[...g.members.values()].map((m) => m.rebalanceTimeoutMs));
    g.rebalanceTimer = setTimeout(() => this.completeJoin(g), Math.max(timeout, wasEmpty ? this.initialDelay : 0));
    if (wasEmpty && this.initialDelay > 0) {
      // A new group waits a moment for the other members that are starting (group.initial.rebalance.delay.ms).
      g.delayTimer = setTimeout(() => {
        g.delayTimer = null;
        this.maybeCompleteJoin(g);
      }, this.initialDelay);
    } else this.maybeCompleteJoin(g);
  }

  private maybeCompleteJoin(g: Group): void {
    if (g.state !== 'PreparingRebalance' || g.delayTimer) return;
    for (const m of g.members.values()) if (!m.awaitingJoin) return;
    this.completeJoin(g);
  }

  private clearTimers(g: Group): void {
    if (g.rebalanceTimer) clearTimeout(g.rebalanceTimer);
    if (g.delayTimer) clearTimeout(g.delayTimer);
    g.rebalanceTimer = null;
    g.delayTimer = null;
  }

  private completeJoin(g: Group): void {
    if (g.state !== 'PreparingRebalance') return;
    this.clearTimers(g);
    // Members that did not rejoin in time are removed.
    for (const m of [...g.members.values()]) {
      if (!m.awaitingJoin) {
        this.clearSession(m);
        g.members.delete(m.id);
      }
    }
    g.generation++;
    if (g.members.size === 0) {
      g.state = 'Empty';
      g.protocol = null;
      g.leader = null;
      return;
    }
    g.protocol = this.chooseProtocol(g);
    if (!g.leader || !g.members.has(g.leader)) g.leader = g.members.keys().next().value!;
    g.state = 'CompletingRebalance';
    for (const m of g.members.values()) {
      this.respondJoin(g, m);
      this.scheduleSession(g, m);
    }
  }

  private respondJoin(g: Group, m: Member): void {
    const resolve = m.awaitingJoin;
    m.awaitingJoin = null;
    resolve?.({
      errorCode: ErrorCode.NONE,
      generationId: g.generation,
      protocolType: g.protocolType,
      protocolName: g.protocol,
      leader: g.leader ?? '',
      memberId: m.id,
      members:
        m.id === g.leader
          ? [...g.members.values()].map((x) => ({ memberId: x.id, groupInstanceId: x.instanceId, metadata: x.protocols.find((p) => p.name === g.protocol)?.metadata ?? Buffer.alloc(0) }))
          : [],
    });
    if (g.state === 'Stable') this.scheduleSession(g, m);
  }

  /** Each member votes for its most preferred protocol that all members support. */
  private chooseProtocol(g: Group): string {
    const candidates = [...g.members.values()][0]!.protocols.map((p) => p.name).filter((name) => this.allSupport(g, name));
    const votes = new Map<string, number>();
    for (const m of g.members.values()) {
      const vote = m.protocols.find((p) => candidates.includes(p.name))!.name;
      votes.set(vote, (votes.get(vote) ?? 0) + 1);
    }
    return [...votes].sort((a, b) => b[1] - a[1])[0]![0];
  }

  private check(g: Group | undefined, memberId: string, generationId: number): number {
    if (!g || !g.members.has(memberId)) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== g.generation) return ErrorCode.ILLEGAL_GENERATION;
    return ErrorCode.NONE;
  }

  /** SyncGroup: followers wait for the leader's assignments. */
  sync(req: { groupId: string; memberId: string; generationId: number; assignments: { memberId: string; assignment: Buffer }[] }): Promise<SyncResult> {
    const g = this.groups.get(req.groupId);
    const empty = (errorCode: number): Promise<SyncResult> => Promise.resolve({ errorCode, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) });
    const err = this.check(g, req.memberId, req.generationId);
    if (err) return empty(err);
    if (g!.state === 'PreparingRebalance') return empty(ErrorCode.REBALANCE_IN_PROGRESS);
    const m = g!.members.get(req.memberId)!;
    this.scheduleSession(g!, m);
    if (g!.state === 'Stable') return Promise.resolve({ errorCode: 0, protocolType: g!.protocolType, protocolName: g!.protocol, assignment: m.assignment });
    const result = new Promise<SyncResult>((resolve) => (m.awaitingSync = resolve));
    if (req.memberId === g!.leader) {
      const byMember = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
      for (const x of g!.members.values()) x.assignment = byMember.get(x.id) ?? Buffer.alloc(0);
      g!.state = 'Stable';
      for (const x of g!.members.values()) this.respondSync(x, { errorCode: 0, protocolType: g!.protocolType, protocolName: g!.protocol, assignment: x.assignment });
    }
    return result;
  }

  private respondSync(m: Member, r: SyncResult): void {
    const resolve = m.awaitingSync;
    m.awaitingSync = null;
    resolve?.(r);
  }

  /** Heartbeat: keeps the session alive; tells the member when a rebalance needs it to rejoin. */
  heartbeat(req: { groupId: string; memberId: string; generationId: number }): number {
    const g = this.groups.get(req.groupId);
    const err = this.check(g, req.memberId, req.generationId);
    if (err) return err;
    this.scheduleSession(g!, g!.members.get(req.memberId)!);
    return g!.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  /** LeaveGroup: removes members; the group rebalances (or becomes Empty). @returns an error code per member */
  leave(groupId: string, memberIds: string[]): number[] {
    const g = this.groups.get(groupId);
    const codes = memberIds.map((id) => (g?.members.has(id) ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID));
    if (!g) return codes;
    let removed = false;
    for (const id of memberIds) {
      const m = g.members.get(id);
      if (!m) continue;
      this.removeMember(g, m, ErrorCode.UNKNOWN_MEMBER_ID);
      removed = true;
    }
    if (removed) this.afterRemoval(g);
    return codes;
  }

  private removeMember(g: Group, m: Member, code: number): void {
    this.clearSession(m);
    m.awaitingJoin?.({ errorCode: code, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId: m.id, members: [] });
    this.respondSync(m, { errorCode: code, protocolType: null, protocolName: null, assignment: Buffer.alloc(0) });
    g.members.delete(m.id);
    if (g.leader === m.id) g.leader = null;
  }

  private afterRemoval(g: Group): void {
    if (g.state === 'PreparingRebalance') return this.maybeCompleteJoin(g);
    if (g.members.size === 0) {
      this.clearTimers(g);
      g.state = 'Empty';
      g.generation++;
      g.protocol = null;
      return;
    }
    this.prepareRebalance(g);
  }

  private scheduleSession(g: Group, m: Member): void {
    this.clearSession(m);
    m.sessionTimer = setTimeout(() => {
      if (!g.members.has(m.id) || m.awaitingJoin) return;
      this.removeMember(g, m, ErrorCode.UNKNOWN_MEMBER_ID);
      this.afterRemoval(g);
    }, m.sessionTimeoutMs);
    m.sessionTimer.unref?.();
  }

  private clearSession(m: Member): void {
    if (m.sessionTimer) clearTimeout(m.sessionTimer);
    m.sessionTimer = null;
  }

  /**
   * OffsetCommit: a member of the current generation, or anyone while the group has no members
   * (generation -1: "simple" consumers and admin tools).
   */
  commit(groupId: string, memberId: string, generationId: number, offsets: { topic: string; partition: number; offset: bigint; leaderEpoch: number; metadata: string | null }[]): number {
    if (!groupId) return ErrorCode.INVALID_GROUP_ID;
    const g = this.group(groupId);
    if (generationId < 0 && g.members.size === 0) {
      // simple commit
    } else {
      const err = this.check(g, memberId, generationId);
      if (err) return err;
      if (g.state === 'PreparingRebalance' || g.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
      this.scheduleSession(g, g.members.get(memberId)!);
    }
    for (const o of offsets) g.offsets.set(key(o.topic, o.partition), { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata });
    this.persist(g);
    return ErrorCode.NONE;
  }

  /** OffsetFetch: committed offsets of `topics` (all committed ones when null). */
  committed(groupId: string, topics: { name: string; partitions: number[] }[] | null): { topic: string; partitions: { partition: number; offset: CommittedOffset | null }[] }[] {
    const g = this.groups.get(groupId);
    if (topics === null) {
      const byTopic = new Map<string, { partition: number; offset: CommittedOffset | null }[]>();
      for (const [k, o] of g?.offsets ?? []) {
        const [topic, p] = k.split('\u0000');
        (byTopic.get(topic!) ?? byTopic.set(topic!, []).get(topic!)!).push({ partition: Number(p), offset: o });
      }
      return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
    }
    return topics.map((t) => ({ topic: t.name, partitions: t.partitions.map((p) => ({ partition: p, offset: g?.offsets.get(key(t.name, p)) ?? null })) }));
  }

  /** Drops committed offsets of a deleted topic. */
  forgetTopic(topic: string): void {
    for (const g of this.groups.values()) {
      let changed = false;
      for (const k of [...g.offsets.keys()]) if (k.startsWith(`${topic}\u0000`)) changed = g.offsets.delete(k) || changed;
      if (changed) this.persist(g);
    }
  }

  /** DescribeGroups. */
  describe(groupId: string) {
    const g = this.groups.get(groupId);
    if (!g) return null;
    return {
      state: g.state,
      protocolType: g.protocolType ?? '',
      protocol: g.state === 'Stable' || g.state === 'CompletingRebalance' ? (g.protocol ?? '') : '',
      members: [...g.members.values()].map((m) => ({
        memberId: m.id,
        groupInstanceId: m.instanceId,
        clientId: m.clientId,
        clientHost: m.clientHost,
        metadata: m.protocols.find((p) => p.name === g.protocol)?.metadata ?? Buffer.alloc(0),
        assignment: g.state === 'Stable' ? m.assignment : Buffer.alloc(0),
      })),
    };
  }

  /** ListGroups. */
  list(): { groupId: string; protocolType: string; state: GroupState }[] {
    return [...this.groups.values()].map((g) => ({ groupId: g.id, protocolType: g.protocolType ?? 'consumer', state: g.state }));
  }

  /** Stops every timer (broker shutdown). */
  close(): void {
    for (const g of this.groups.values()) {
      this.clearTimers(g);
      for (const m of g.members.values()) this.clearSession(m);
    }
  }
}
