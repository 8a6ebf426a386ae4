/**
 * Transform stage: run the pipeline's optional transform on a decoded value and check what it
 * returns. An object is one row, an array of objects is 0..n rows, null/undefined/[] filter the
 * record out; anything else (or a throw) quarantines the record with stage `transform`.
 */
import { jsonTypeName } from './decode';
import type { RecordMeta, Row, Transform } from './pipeline';
import { LakeloaderError } from './errors';

/** A transform that threw or returned something that is not rows; the message is the quarantine reason. */
export class TransformError extends LakeloaderError {
  readonly code = 'TRANSFORM';
  readonly stage = 'transform' as const;
  constructor(message: string) {
    super(message);
  }
}

const isRow = (v: unknown): v is Row => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Calls `transform(value, meta)` and normalizes its result.
 * @returns the rows, or null when the record is filtered out (null, undefined or []).
 * @throws TransformError when the transform throws or returns a non-object.
 */
export function applyTransform(transform: Transform<unknown>, value: unknown, meta: RecordMeta): Row[] | null {
  let out: unknown;
  try {
    out = transform(value, meta);
  } catch (e) {
    throw new TransformError(`transform threw: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
  try {
    return checkRows(out);
  } catch (e) {
    if (e instanceof TransformError) throw e;
    throw new TransformError(`transform returned a value that cannot be read: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  }
}

function checkRows(out: unknown): Row[] | null {
  if (out === null || out === undefined) return null;
  if (Array.isArray(out)) {
    if (out.length === 0) return null;
    for (let i = 0; i < out.length; i++) {
      if (!isRow(out[i])) throw new TransformError(`transform returned an array whose element ${i} is a ${jsonTypeName(out[i])}, not an object`);
    }
    return out as Row[];
  }
  if (isRow(out)) {
    if (typeof out.then === 'function') throw new TransformError('transform returned a Promise: transforms must be synchronous and return the rows themselves');
    if (out instanceof Date || out instanceof Map || out instanceof Set) throw new TransformError(`transform returned a ${out.constructor.name}, not a plain object`);
    return [out];
  }
  throw new TransformError(`transform returned a ${jsonTypeName(out)}, not an object, an array of objects or null`);
}
