/**
 * A progress bar for long operations (cli-progress on stderr), shown only when stderr is a TTY
 * and there is enough work to be worth one, so that pipes and CI logs stay clean.
 */
import { SingleBar } from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/** A no-op progress when stderr is not a TTY or the work is small (`total < minTotal`). */
export function progressBar(label: string, opts: { stream?: NodeJS.WriteStream; minTotal?: number } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const minTotal = opts.minTotal ?? 5;
  let bar: SingleBar | null = null;
  return {
    update(done, total) {
      if (!stream.isTTY || total < minTotal) return;
      if (!bar) {
        bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} {percentage}% | ETA {eta_formatted}`, stream, hideCursor: true, clearOnComplete: true });
        bar.start(total, 0);
      }
      bar.setTotal(total);
      bar.update(done);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
