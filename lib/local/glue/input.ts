/**
 * Reading Glue request members with Glue's validation messages, and paging lists with
 * `NextToken` / `MaxResults`.
 */
import { glueErrors } from '../errors';
import type { Json } from './model';

/** A required (or optional) non-empty string member. */
export function str(input: Json, field: string, required = true): string {
  const v = input[field];
  if (typeof v === 'string' && v.length > 0) return v;
  if (!required && v === undefined) return '';
  throw glueErrors.invalidInput(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null or empty`);
}

/** A required structure member. */
export function obj<T>(input: Json, field: string): T {
  const v = input[field];
  if (v && typeof v === 'object') return v as T;
  throw glueErrors.invalidInput(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must not be null`);
}

/** A list member (absent = empty), each entry checked by `each`. */
export function list<T>(input: Json, field: string, max?: number): T[] {
  const v = input[field];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw glueErrors.invalidInput(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must be a list`);
  if (max !== undefined && v.length > max) {
    throw glueErrors.invalidInput(`1 validation error detected: Value at '${field.charAt(0).toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must have length less than or equal to ${max} (got ${v.length})`);
  }
  return v as T[];
}

/** One page of `items` for `NextToken` / `MaxResults` (`maxLimit` caps MaxResults, as Glue's models do). */
export function page<T>(items: T[], input: Json, defaultMax: number, maxLimit = Number.MAX_SAFE_INTEGER): { items: T[]; NextToken?: string } {
  const start = input.NextToken ? Number(Buffer.from(String(input.NextToken), 'base64url').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw glueErrors.invalidInput('Invalid NextToken');
  const max = input.MaxResults === undefined ? defaultMax : Number(input.MaxResults);
  if (!Number.isInteger(max) || max < 1 || max > maxLimit) {
    throw glueErrors.invalidInput(`1 validation error detected: Value '${String(input.MaxResults)}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and ${maxLimit === Number.MAX_SAFE_INTEGER ? 'a positive integer' : maxLimit}`);
  }
  const slice = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
  return { items: slice, ...(next ? { NextToken: next } : {}) };
}
