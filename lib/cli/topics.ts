/**
 * `lakeloader topics [--json]`: the topics of a Kafka cluster (by default `lakeloader dev`'s
 * embedded broker) with their partitions and end offsets, and every consumer group's committed
 * offsets and lag on them — what a user checks after `produce` and while the ESM loads.
 */
import type { Command } from 'commander';
import { committedOffsets, endOffsets, withAdmin, type KafkaConnection } from '../local/kafka-client';
import { renderTable } from '../ops/format';
import { errorText, stdio, type CommandIo } from '../ops/io';
import { kafkaConnection, withKafkaOptions, type KafkaFlags } from './kafka-options';

export interface TopicPartitionInfo {
  partition: number;
  /** The log start offset. */
  start: number;
  /** The next offset to be written (the high watermark). */
  end: number;
}

export interface GroupLag {
  group: string;
  state: string;
  /** Per partition: the committed offset (null = none) and the lag behind the end offset. */
  partitions: { partition: number; committed: number | null; lag: number }[];
  lag: number;
}

export interface TopicInfo {
  topic: string;
  partitions: TopicPartitionInfo[];
  /** Records in the topic (Σ end − start). */
  records: number;
  groups: GroupLag[];
}

/** Reads topics, end offsets and every group's lag from the cluster. */
export async function describeTopics(conn: KafkaConnection, only?: string[]): Promise<TopicInfo[]> {
  return withAdmin(conn, async (admin) => {
    const names = (await admin.listTopics()).filter((t) => !t.startsWith('__') && (!only?.length || only.includes(t))).sort();
    const ends = await endOffsets(admin, names);
    const groups = [...(await admin.listGroups()).values()].sort((a, b) => a.id.localeCompare(b.id));
    const committed = new Map(await Promise.all(groups.map(async (g) => [g.id, await committedOffsets(admin, g.id, names)] as const)));
    return names.map((topic) => {
      const partitions = [...ends].filter(([k]) => k.slice(0, k.lastIndexOf('-')) === topic).map(([k, o]) => ({ partition: Number(k.slice(k.lastIndexOf('-') + 1)), start: o.low, end: o.high }));
      partitions.sort((a, b) => a.partition - b.partition);
      const lags: GroupLag[] = [];
      for (const g of groups) {
        const c = committed.get(g.id)!;
        if (!partitions.some((p) => c.has(`${topic}-${p.partition}`))) continue;
        const ps = partitions.map((p) => {
          const at = c.get(`${topic}-${p.partition}`) ?? null;
          return { partition: p.partition, committed: at, lag: p.end - (at ?? p.start) };
        });
        lags.push({ group: g.id, state: g.state, partitions: ps, lag: ps.reduce((n, p) => n + p.lag, 0) });
      }
      return { topic, partitions, records: partitions.reduce((n, p) => n + p.end - p.start, 0), groups: lags };
    });
  });
}

/** Formats the topics for people. */
export function formatTopics(topics: TopicInfo[]): string {
  if (!topics.length) return 'no topics\n';
  const rows = topics.flatMap((t) =>
    t.partitions.map((p) => [
      t.topic,
      p.partition,
      p.start,
      p.end,
      ...[t.groups.map((g) => `${g.group}: ${g.partitions.find((x) => x.partition === p.partition)!.lag}`).join(', ') || '-'],
    ]),
  );
  return renderTable(['topic', 'partition', 'start offset', 'end offset', 'lag by consumer group'], rows) + topics.map((t) => `${t.topic}: ${t.records} records, ${t.partitions.length} partitions${t.groups.map((g) => `; group ${g.group} (${g.state}) lag ${g.lag}`).join('')}\n`).join('');
}

/** Runs `topics` for the CLI. @returns exit code 0, or 1 when the cluster could not be read */
export async function runTopics(only: string[], flags: KafkaFlags & { json?: boolean }, io: CommandIo = stdio): Promise<number> {
  try {
    const topics = await describeTopics(kafkaConnection(flags), only);
    io.out(flags.json ? `${JSON.stringify(topics)}\n` : formatTopics(topics));
    return 0;
  } catch (e) {
    io.err(`lakeloader topics: ${errorText(e)}\n`);
    return 1;
  }
}

/** Registers `lakeloader topics`. */
export function register(program: Command): void {
  withKafkaOptions(
    program
      .command('topics')
      .description('list Kafka topics with partitions and end offsets, and each consumer group\'s lag')
      .argument('[topic...]', 'only these topics')
      .option('--json', 'print a JSON array'),
  ).action(async (only: string[], flags: KafkaFlags & { json?: boolean }) => {
    process.exitCode = await runTopics(only, flags);
  });
}
