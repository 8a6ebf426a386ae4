/** Small descriptive statistics for bench samples: median and spread, never a single number. */

/** Median and spread of a set of samples. */
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** 25th and 75th percentiles (linear interpolation). */
  p25: number;
  p75: number;
  n: number;
}

/** The q-quantile (0..1) of already-sorted numbers, linearly interpolated. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Summarizes samples as median, min/max and interquartile range.
 * @throws RangeError when there are no samples (a bench figure without a measurement is a bug).
 */
export function summarizeSamples(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError('summarizeSamples() needs at least one sample');
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    min: sorted[0],
    max: sorted[sorted.length - 1],
    p25: quantile(sorted, 0.25),
    p75: quantile(sorted, 0.75),
    n: sorted.length,
  };
}

/** Rounds to `digits` significant decimals for display and JSON (keeps integers intact). */
export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** A summary with every figure rounded. */
export function roundSummary(s: Summary, digits = 3): Summary {
  return { median: round(s.median, digits), min: round(s.min, digits), max: round(s.max, digits), p25: round(s.p25, digits), p75: round(s.p75, digits), n: s.n };
}
