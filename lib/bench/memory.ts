/**
 * Peak RSS of the loader core on one MSK event, measured in a fresh child process running the
 * production bundle (esbuild, as the CDK construct bundles it): the child parses the event JSON
 * (as the Lambda runtime does), runs prepareBatch per topic-partition `repeat` times (a warm
 * container handles batch after batch), and reports `process.resourceUsage().maxRSS`.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { bundleLikeCdk } from './bundle';
import { summarizeSamples, type Summary } from './stats';

const CHILD_SOURCE = `
import { readFileSync } from 'node:fs';
import { prepareBatch } from './lambdas/core/prepare';
import * as bundled from 'lakeloader-bundled-pipeline';
import { isPipeline } from './lambdas/core/pipeline';
const mb = () => process.resourceUsage().maxRSS / 1024;
async function main() {
  const [eventFile, , repeatText] = process.argv.slice(2);
  const pipeline = Object.values(bundled).find(isPipeline);
  const startMb = mb();
  const event = JSON.parse(readFileSync(eventFile, 'utf8'));
  const eventParsedMb = mb();
  let rows = 0;
  let firstBatchPeakMb = 0;
  for (let i = 0; i < Number(repeatText); i++) {
    for (const records of Object.values(event.records)) rows += (await prepareBatch(pipeline, records as never)).counts.rows;
    if (i === 0) firstBatchPeakMb = mb();
  }
  process.stdout.write(JSON.stringify({ startMb, eventParsedMb, firstBatchPeakMb, peakMb: mb(), rows }));
}
main().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

export interface MemoryChildResult {
  /** maxRSS after the bundle is loaded, before the event is read. */
  startMb: number;
  /** maxRSS after the event JSON is parsed. */
  eventParsedMb: number;
  /** maxRSS after the first pass over the event: the peak RSS for one batch. */
  firstBatchPeakMb: number;
  /** maxRSS after `repeat` passes. */
  peakMb: number;
  rows: number;
}

export interface MemoryResult {
  /** Peak RSS for one batch (first pass), MB. */
  peakRssMb: Summary;
  /** Peak RSS after `repeat` batches in the same process, MB (growth shows leaks or retained buffers). */
  sustainedPeakRssMb: Summary;
  /** RSS before the batch (runtime + bundle + parsed event), MB. */
  eventParsedRssMb: Summary;
  repeat: number;
}

/** Bundles the memory child once, holding the pipeline of `pipelineFile`; returns its path. @throws BundleError */
export async function bundleMemoryChild(workDir: string, pipelineFile: string): Promise<string> {
  const b = await bundleLikeCdk({ entry: 'memory-child.ts', contents: CHILD_SOURCE, outDir: join(workDir, 'memory-child'), pipelineFile });
  return b.file;
}

/** Runs the child `runs` times on the event in `eventFile` and summarizes its RSS figures. */
export function measureMemory(childFile: string, eventFile: string, pipeline: string, runs: number, repeat: number): MemoryResult {
  const results: MemoryChildResult[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, [childFile, eventFile, pipeline, String(repeat)], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
      maxBuffer: 1 << 20,
    });
    results.push(JSON.parse(out) as MemoryChildResult);
  }
  return {
    peakRssMb: summarizeSamples(results.map((r) => r.firstBatchPeakMb)),
    sustainedPeakRssMb: summarizeSamples(results.map((r) => r.peakMb)),
    eventParsedRssMb: summarizeSamples(results.map((r) => r.eventParsedMb)),
    repeat,
  };
}
