/**
 * An in-memory S3 double implementing {@link ObjectStore} with S3's semantics for what the loader
 * relies on: MD5 ETags (quoted), `If-None-Match: *` and `If-Match` conditional writes answered
 * with PreconditionFailedError, batch delete, and paged, key-ordered listing.
 * Every operation is atomic (one JavaScript turn), like a single S3 request.
 */
import { createHash } from 'node:crypto';
import { PreconditionFailedError, type ListedObject, type ObjectStore, type PutOptions, type StoredObject } from '../../lambdas/core/store';

export interface MemoryObject {
  body: Uint8Array;
  etag: string;
  contentType?: string;
  lastModified: number;
}

/** An in-memory bucket. `objects` is public so tests can inspect or tamper with it. */
export class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, MemoryObject>();
  /** Number of operations served, by method (for assertions about what the loader did). */
  readonly calls: Record<'get' | 'put' | 'deleteMany' | 'list', number> = { get: 0, put: 0, deleteMany: 0, list: 0 };

  /** @param pageSize listing page size, small by default so paging is exercised. */
  constructor(
    private readonly pageSize = 3,
    private readonly now: () => number = Date.now,
  ) {}

  async get(key: string): Promise<StoredObject | null> {
    this.calls.get++;
    const o = this.objects.get(key);
    return o ? { body: o.body.slice(), etag: o.etag } : null;
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<{ etag: string }> {
    this.calls.put++;
    const current = this.objects.get(key);
    if (options.ifNoneMatch === '*' && current) throw new PreconditionFailedError(key, 'if-none-match', 'PreconditionFailed');
    if (options.ifMatch !== undefined && (!current || current.etag !== options.ifMatch))
      throw new PreconditionFailedError(key, 'if-match', current ? 'PreconditionFailed' : 'NoSuchKey');
    const etag = `"${createHash('md5').update(body).digest('hex')}"`;
    this.objects.set(key, { body: body.slice(), etag, contentType: options.contentType, lastModified: this.now() });
    return { etag };
  }

  async deleteMany(keys: string[]): Promise<void> {
    this.calls.deleteMany++;
    for (const k of keys) this.objects.delete(k);
  }

  async *list(prefix: string, startAfter = ''): AsyncIterable<ListedObject> {
    let after = startAfter;
    for (;;) {
      this.calls.list++;
      const page = [...this.objects.keys()]
        .filter((k) => k.startsWith(prefix) && k > after)
        .sort()
        .slice(0, this.pageSize);
      for (const key of page) {
        const o = this.objects.get(key);
        if (o) yield { key, size: o.body.byteLength, etag: o.etag, lastModified: o.lastModified };
      }
      if (page.length < this.pageSize) return;
      after = page[page.length - 1]!;
    }
  }

  /** Keys under a prefix, sorted (synchronous, for assertions). */
  keys(prefix = ''): string[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  /** The object's body as UTF-8 text, or undefined. */
  text(key: string): string | undefined {
    const o = this.objects.get(key);
    return o ? Buffer.from(o.body).toString('utf8') : undefined;
  }
}
