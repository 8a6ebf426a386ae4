/**
 * The plumbing every S3 handler shares: the request context, header access, and request bodies
 * (plain, or `aws-chunked` with trailers).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { LocalObjectStore } from '../store';
import { decodeAwsChunked } from './chunked';
import type { MultipartUploads } from './multipart-store';
import type { S3Call } from './operations';

/** What the S3 handlers work with, for the life of the endpoint. */
export interface S3Context {
  store: LocalObjectStore;
  uploads: MultipartUploads;
  region: string;
  /** The account id the endpoint reports as owner. */
  accountId: string;
  /**
   * Asks whether the caller may make `call` (under `--enforce-iam`); throws an S3Error
   * (AccessDenied) when not. Called once per request, and once per key of a DeleteObjects.
   */
  authorize?: (call: S3Call) => void | Promise<void>;
}

/** One routed request. */
export interface S3Request {
  ctx: S3Context;
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  call: S3Call;
}

/** A request header as one string (repeated headers joined with `,`). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Reads a request body fully (small XML/JSON bodies only). */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** True when the body is `aws-chunked` (streaming upload, possibly with trailers). */
export function isAwsChunked(req: IncomingMessage): boolean {
  const enc = String(req.headers['content-encoding'] ?? '');
  const sha = String(req.headers['x-amz-content-sha256'] ?? '');
  return enc.includes('aws-chunked') || sha.startsWith('STREAMING-');
}

/** The request body as a stream of its data, and its trailers once the stream has ended. */
export function bodyOf(req: IncomingMessage): { stream: Readable; trailers: () => Record<string, string> } {
  if (!isAwsChunked(req)) return { stream: req, trailers: () => ({}) };
  const decoder = decodeAwsChunked();
  req.on('error', (e) => decoder.destroy(e));
  return { stream: req.pipe(decoder), trailers: () => decoder.trailers };
}

/** The `x-amz-meta-*` headers, without the prefix. */
export function userMetadata(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-amz-meta-') && typeof v === 'string') out[k.slice(11)] = v;
  return out;
}

/** The HTTP date of an ISO time. */
export const httpDate = (iso: string) => new Date(iso).toUTCString();
