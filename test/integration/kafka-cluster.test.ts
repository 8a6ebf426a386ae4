import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { KcatMissingError, MOCK_DEFAULT_PARTITIONS, MockClusterError, mockKafkaClient, startMockKafkaCluster, type MockKafkaCluster } from '../../lib/local/kafka-cluster';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('librdkafka mock cluster through kcat', () => {
  let cluster: MockKafkaCluster;
  beforeAll(async () => {
    cluster = await startMockKafkaCluster({ topics: ['kc-a'] });
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  it('reports a bootstrap address and auto-creates topics with the mock default partition count', async () => {
    expect(cluster.bootstrapServers).toMatch(/^127\.0\.0\.1:\d+$/);
    const counts = await cluster.ensureTopics(['kc-a', 'kc-b']);
    expect(counts).toEqual({ 'kc-a': MOCK_DEFAULT_PARTITIONS, 'kc-b': MOCK_DEFAULT_PARTITIONS });
    await expect(cluster.ensureTopics(['kc-c'], MOCK_DEFAULT_PARTITIONS + 1)).rejects.toBeInstanceOf(MockClusterError);
  });

  it('works with kafkajs: produce to explicit partitions, consume in a group, commit and read back offsets', async () => {
    const kafka = mockKafkaClient(cluster.brokers);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kc-a', messages: Array.from({ length: 40 }, (_, i) => ({ partition: i % 4, key: `k${i}`, value: JSON.stringify({ i }) })) });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'kc-group', maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topics: ['kc-a'], fromBeginning: true });
    const seen: number[] = [];
    await new Promise<void>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) seen.push(JSON.parse(m.value!.toString()).i);
          await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) }]);
          if (seen.length >= 40) resolve();
        },
      });
    });
    await consumer.disconnect();
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const admin = kafka.admin();
    await admin.connect();
    const offsets = await admin.fetchOffsets({ groupId: 'kc-group', topics: ['kc-a'] });
    await admin.disconnect();
    expect(offsets[0]!.partitions.map((p) => Number(p.offset)).sort()).toEqual([10, 10, 10, 10]);
  }, 30_000);

  it('stop() ends the kcat process', async () => {
    const other = await startMockKafkaCluster();
    expect(alive(other.pid)).toBe(true);
    await other.stop();
    expect(alive(other.pid)).toBe(false);
    await other.stop(); // idempotent
  });

  it('kcat exits by itself when its parent dies (stdin pipe closes)', () => {
    const script = `
      const { startMockKafkaCluster } = require('./lib/local/kafka-cluster.ts');
      startMockKafkaCluster().then((c) => { console.log(c.pid); process.kill(process.pid, 'SIGKILL'); });`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 20_000 });
    const pid = Number(r.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) spawnSync('sleep', ['0.1']);
    expect(alive(pid)).toBe(false);
  }, 30_000);

  it('says how to install kcat when it is missing', async () => {
    const err = await startMockKafkaCluster({ kcatPath: '/nonexistent/kcat' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KcatMissingError);
    expect((err as Error).message).toContain('sudo apt-get install kcat');
  });
});
