/**
 * A small seeded pseudo-random number generator (mulberry32) and the helpers the data
 * generators use. Same seed, same sequence, on every machine and Node version: no Math.random.
 */

/** A seeded random source. Every method advances the same 32-bit state. */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max] (inclusive); both bounds must be safe integers. */
  int(min: number, max: number): number;
  /** A uniform 32-bit unsigned integer. */
  uint32(): number;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** One element chosen by weight (weights need not sum to 1). */
  weighted<T>(items: readonly (readonly [T, number])[]): T;
  /** True with probability p. */
  chance(p: number): boolean;
  /** `n` lower-case hex digits. */
  hex(n: number): string;
}

/**
 * Creates a mulberry32 generator from a 32-bit seed (any integer; it is truncated to 32 bits).
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  const uint32 = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = () => uint32() / 4294967296;
  const rng: Rng = {
    next,
    uint32,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: (items) => items[Math.floor(next() * items.length)],
    weighted: (items) => {
      let total = 0;
      for (const [, w] of items) total += w;
      let x = next() * total;
      for (const [v, w] of items) {
        x -= w;
        if (x < 0) return v;
      }
      return items[items.length - 1][0];
    },
    chance: (p) => next() < p,
    hex: (n) => {
      let s = '';
      while (s.length < n) s += uint32().toString(16).padStart(8, '0');
      return s.slice(0, n);
    },
  };
  return rng;
}

/** Derives an independent 32-bit seed for a sub-stream (e.g. the malformed records of a run). */
export function deriveSeed(seed: number, stream: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < stream.length; i++) h = Math.imul(h ^ stream.charCodeAt(i), 0x01000193) >>> 0;
  return Math.imul(h ^ (h >>> 16), 0x45d9f3b) >>> 0;
}
