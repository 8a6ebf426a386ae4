/**
 * The Kafka commands as a user runs them: `produce` (NDJSON → records, keys and partitions from
 * fields), `topics` (end offsets and group lag) and `esm` (a child process loading a topic into
 * the lake until Ctrl-C), against the embedded broker and the local endpoint. The partitioner is
 * checked against kafkajs's Java-compatible one, the records against what kafkajs consumes.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveContext } from '../../lib/cli/context';
import { murmur2, runProduce } from '../../lib/cli/produce';
import { provision } from '../../lib/cli/provision';
import { queryLake } from '../../lib/ops/deps';
import { runTopics, type TopicInfo } from '../../lib/cli/topics';
import { startKafkaBroker, type KafkaBroker } from '../../lib/local/kafka/broker';
import { startLocalEndpoint, type LocalEndpoint } from '../../lib/local/server';

let dir: string;
let broker: KafkaBroker;
let kafka: Kafka;
/** Partition metadata as kafkajs's partitioner reads it (one broker, leader of every partition). */
const partitionMetadata = (n: number) => Array.from({ length: n }, (_, p) => ({ partitionId: p, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
const io = () => {
  const o = { out: '', err: '', io: { out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s) } };
  return o;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kafka-cli-'));
  broker = await startKafkaBroker({ port: 0, partitions: 1 });
  kafka = new Kafka({ brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
});
afterAll(async () => {
  await broker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function consumeAll(topic: string, n: number): Promise<{ partition: number; key: string | null; value: string }[]> {
  const c = kafka.consumer({ groupId: `check-${topic}`, maxWaitTimeInMs: 200 });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  const got: { partition: number; key: string | null; value: string }[] = [];
  await new Promise<void>((resolve) => void c.run({ eachMessage: async ({ partition, message }) => void (got.push({ partition, key: message.key?.toString() ?? null, value: message.value!.toString() }), got.length === n && resolve()) }));
  await c.disconnect();
  return got;
}

describe('lakeloader produce', () => {
  it('produces each line unchanged, keyed and partitioned by fields as the Java client partitions keys; malformed lines go as they are', async () => {
    const lines = [
      ...Array.from({ length: 40 }, (_, i) => JSON.stringify({ user: `u${i % 7}`, n: i })),
      'not json at all',
      '',
      JSON.stringify({ other: 1 }),
    ];
    const file = join(dir, 'in.ndjson');
    await writeFile(file, lines.join('\n') + '\n');
    const out = io();
    const code = await runProduce({ topic: 'cli-prod', file, keyField: 'user', partitions: '4', bootstrap: broker.bootstrap }, out.io);
    expect(code, out.err).toBe(0);
    const summary = JSON.parse(out.out) as { produced: number; emptyLines: number; withoutField: number; partitions: Record<string, number> };
    expect(summary).toMatchObject({ produced: 42, emptyLines: 1, withoutField: 2 });
    const got = await consumeAll('cli-prod', 42);
    expect(got.map((g) => g.value).sort()).toEqual(lines.filter(Boolean).sort());
    // Keyed records land where kafkajs's Java-compatible partitioner puts the same key.
    const javaPartitioner = Partitioners.DefaultPartitioner();
    for (const g of got.filter((x) => x.key !== null)) {
      expect(g.partition).toBe(javaPartitioner({ topic: 'cli-prod', partitionMetadata: partitionMetadata(4), message: { key: g.key, value: null } }));
      expect(g.key).toBe((JSON.parse(g.value) as { user: string }).user);
    }
    expect(out.err).toContain('2 line(s) had no "user" field');
  });

  it('murmur2 matches the Java client on known keys', () => {
    // kafkajs's Java-compatible partitioner on another key, and the Java client's murmur2("") (masked positive).
    expect(murmur2(Buffer.from('21')) % 1000).toBe(Partitioners.DefaultPartitioner()({ topic: 't', partitionMetadata: partitionMetadata(1000), message: { key: '21', value: null } }));
    expect(murmur2(Buffer.from(''))).toBe(275646681);
  });

  it('reads standard input, and says what to set when the cluster will not create the topic', async () => {
    const { Readable } = await import('node:stream');
    const out = io();
    expect(await runProduce({ topic: 'cli-stdin', bootstrap: broker.bootstrap }, out.io, Readable.from(['{"a":1}\n{"a":2}\n']))).toBe(0);
    expect(JSON.parse(out.out)).toMatchObject({ produced: 2, partitions: { '0': 2 } });
    const strict = await startKafkaBroker({ port: 0, autoCreateTopics: false });
    try {
      const err = io();
      expect(await runProduce({ topic: 'nope', bootstrap: strict.bootstrap }, err.io, Readable.from(['{}\n']))).toBe(1);
      expect(err.err).toMatch(/topic "nope" does not exist.*--partitions/);
    } finally {
      await strict.stop();
    }
  });
});

describe('lakeloader topics and esm', () => {
  let ep: LocalEndpoint;
  beforeAll(async () => {
    ep = await startLocalEndpoint({ port: 0, dataDir: join(dir, 'aws') });
    await provision(resolveContext({ endpoint: ep.url }, {}));
  });
  afterAll(async () => {
    await ep?.close();
  });

  it('esm loads the topic into the lake until Ctrl-C; topics shows end offsets and the group lag', async () => {
    const events = Array.from({ length: 120 }, (_, i) =>
      JSON.stringify({ event_id: `e-${i}`, user_id: 1000 + i, event_type: 'click', ts: new Date(Date.UTC(2026, 10, 1, 12, 0, i)).toISOString(), page_url: `/p/${i % 9}` }),
    );
    const out = io();
    expect(await runProduce({ topic: 'clicks', partitions: '2', partitionBy: 'user_id', bootstrap: broker.bootstrap }, out.io, (await import('node:stream')).Readable.from([events.join('\n') + '\n']))).toBe(0);

    const child = spawn(process.execPath, [join(process.cwd(), 'bin', 'lakeloader.js'), 'esm', '--pipeline', 'clickstream', '--bootstrap', broker.bootstrap, '--endpoint', ep.url, '--window-ms', '100'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const caughtUp = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => ((stderr += d.toString()), /delivered 120, discarded 0, lag 0/.test(stderr) && resolve())));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    await Promise.race([caughtUp, closed.then(() => Promise.reject(new Error(`esm exited early: ${stderr}`)))]);
    child.kill('SIGINT');
    expect(await closed).toBe(0);
    expect(stdout).toMatch(/stopped: .*"delivered":120/);

    const ctx = resolveContext({ endpoint: ep.url }, {});
    expect((await queryLake(ctx, 'SELECT count(*) AS n FROM clickstream')).rows[0]![0]).toBe('120');

    const t = io();
    expect(await runTopics(['clicks'], { bootstrap: broker.bootstrap, json: true }, t.io)).toBe(0);
    const [info] = JSON.parse(t.out) as TopicInfo[];
    expect(info!.records).toBe(120);
    expect(info!.partitions.map((p) => p.end).reduce((a, b) => a + b, 0)).toBe(120);
    expect(info!.groups).toEqual([expect.objectContaining({ group: 'lakeloader-clickstream', lag: 0 })]);
    const text = io();
    await runTopics([], { bootstrap: broker.bootstrap }, text.io);
    expect(text.out).toMatch(/clicks\s+0\s+0\s+\d+\s+lakeloader-clickstream: 0/);
  }, 90_000);
});
