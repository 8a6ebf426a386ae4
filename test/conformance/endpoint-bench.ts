/**
 * A/B micro-benchmark of the local endpoint's S3 hot path — the requests the loader makes:
 * conditional PUTs of data files (`If-None-Match: *`), `If-Match` PUTs of a small state object,
 * GETs of both, and prefix listings of a bucket with a few thousand keys — through the real SDK v3
 * S3 client (default settings, so it sends CRC32 checksums and asks for checksums back as the
 * loader's client does).
 *
 * Both endpoints run in this process, alternately (A B A B …), so machine load hits both alike;
 * the report gives each workload's median milliseconds and the ratio B/A (> 1 = B slower).
 *
 * ```sh
 * git archive main | tar -x -C /tmp/main-snap && ln -s "$PWD/node_modules" /tmp/main-snap/node_modules
 * npx tsx test/conformance/endpoint-bench.ts --baseline /tmp/main-snap [--rounds 7]
 * ```
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

type Start = (o: { dataDir: string; port: number }) => Promise<{ url: string; close(): Promise<void> }>;

const arg = (name: string, fallback?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};

const WORKLOADS = ['put-data', 'put-state', 'get-state', 'get-data', 'list'] as const;
type Workload = (typeof WORKLOADS)[number];

async function round(start: Start): Promise<Record<Workload, number>> {
  const dir = await mkdtemp(join(tmpdir(), 'lakeloader-bench-'));
  const ep = await start({ dataDir: dir, port: 0 });
  const s3 = new S3Client({ endpoint: ep.url, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const out = {} as Record<Workload, number>;
  const time = async (w: Workload, fn: () => Promise<void>) => {
    const t0 = performance.now();
    await fn();
    out[w] = performance.now() - t0;
  };
  try {
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const data = Buffer.alloc(256 * 1024, 7);
    // Filler keys so that listings page through a realistic bucket.
    for (let i = 0; i < 2000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => s3.send(new PutObjectCommand({ Bucket: 'bench', Key: `tables/other/dt=2026-01-${String((i + j) % 28 + 1).padStart(2, '0')}/f-${i + j}.parquet`, Body: 'x' }))));
    }
    await time('put-data', async () => {
      for (let i = 0; i < 150; i += 4) {
        await Promise.all(Array.from({ length: 4 }, (_, j) =>
          s3.send(new PutObjectCommand({ Bucket: 'bench', Key: `tables/t/dt=2026-01-01/part-${i + j}.parquet`, Body: data, IfNoneMatch: '*' }))));
      }
    });
    await time('put-state', async () => {
      let etag = (await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: '_lakeloader/state/t/topic/0.json', Body: '{"v":0}', IfNoneMatch: '*' }))).ETag;
      for (let i = 1; i <= 200; i++) {
        etag = (await s3.send(new PutObjectCommand({ Bucket: 'bench', Key: '_lakeloader/state/t/topic/0.json', Body: `{"v":${i},"pending":[]}`, IfMatch: etag }))).ETag;
      }
    });
    await time('get-state', async () => {
      for (let i = 0; i < 300; i++) await (await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: '_lakeloader/state/t/topic/0.json' }))).Body!.transformToString();
    });
    await time('get-data', async () => {
      for (let i = 0; i < 150; i++) await (await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: `tables/t/dt=2026-01-01/part-${i}.parquet` }))).Body!.transformToByteArray();
    });
    await time('list', async () => {
      for (let i = 0; i < 40; i++) {
        let token: string | undefined;
        do {
          const r = await s3.send(new ListObjectsV2Command({ Bucket: 'bench', Prefix: 'tables/', ContinuationToken: token }));
          token = r.NextContinuationToken;
        } while (token);
      }
    });
  } finally {
    s3.destroy();
    await ep.close();
    await rm(dir, { recursive: true, force: true });
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const baseline = arg('baseline');
  if (!baseline) throw new Error('--baseline <directory of another checkout (with node_modules)> is required');
  const rounds = Number(arg('rounds', '7'));
  const a = ((await import(resolve(baseline, 'lib/local/server.ts'))) as { startLocalEndpoint: Start }).startLocalEndpoint;
  const b = ((await import('../../lib/local/server')) as { startLocalEndpoint: Start }).startLocalEndpoint;
  await round(a);
  await round(b); // warm-up of both
  const results: Record<'A' | 'B', Array<Record<Workload, number>>> = { A: [], B: [] };
  for (let i = 0; i < rounds; i++) {
    const order: Array<['A' | 'B', Start]> = i % 2 ? [['B', b], ['A', a]] : [['A', a], ['B', b]];
    for (const [name, start] of order) results[name].push(await round(start));
  }
  const rows = WORKLOADS.map((w) => {
    const ma = median(results.A.map((r) => r[w]));
    const mb = median(results.B.map((r) => r[w]));
    return { workload: w, 'A (baseline) ms': Number(ma.toFixed(1)), 'B (this checkout) ms': Number(mb.toFixed(1)), 'B/A': Number((mb / ma).toFixed(3)) };
  });
  console.table(rows);
  if (process.argv.includes('--json')) console.log(JSON.stringify({ rounds, rows }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
