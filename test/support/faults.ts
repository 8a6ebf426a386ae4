/**
 * Fault injection for the commit protocol's tests: wraps an {@link ObjectStore}, a {@link Catalog}
 * and a {@link TableCatalog} (the Iceberg commit's Glue calls) so that a chosen call (counted across both, 1-based, in the order calls start)
 * crashes before it reaches the service or after it took effect, and so that an attempt can be
 * paused at a chosen call to interleave a concurrent (stale) writer.
 *
 * By default a crash kills the attempt like a dead Lambda: every later call of the same injector
 * fails too, so nothing of the attempt runs on after the crash.
 */
import type { PartitionInput, TableInput } from '@aws-sdk/client-glue';
import type { Catalog, CatalogTable, RegisterResult, TableCatalog } from '../../lambdas/core/catalog';
import type { ListedObject, ObjectStore, PutOptions, StoredObject } from '../../lambdas/core/store';

/** The injected failure. */
export class CrashError extends Error {
  constructor(
    readonly call: number,
    readonly phase: 'before' | 'after' | 'dead',
    readonly operation: string,
  ) {
    super(`injected crash ${phase} call #${call} (${operation})`);
    this.name = 'CrashError';
  }
}

export interface FaultPlan {
  /**
   * 1-based index of the call to crash at, or the first call a predicate picks (it sees each call
   * once, in the order calls start, so it may count); undefined = never.
   */
  crashAt?: number | ((call: CallRecord) => boolean);
  /** Crash before the call reaches the service, or after it took effect (the response is lost). @default 'before' */
  phase?: 'before' | 'after';
  /** After the crash, every further call fails too (the process died). @default true */
  die?: boolean;
}

/** A call the injector saw. */
export interface CallRecord {
  n: number;
  operation: string;
  key?: string;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}
const deferred = (): Deferred => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

/** A pause point: `reached` resolves when the attempt gets there; the attempt waits until `release()`. */
export interface Pause {
  reached: Promise<void>;
  release(): void;
}

export class FaultInjector {
  readonly calls: CallRecord[] = [];
  private dead = false;
  /** The call the plan crashed at, once it did. */
  private crashedAt?: number;
  /** The call the attempt was paused at, once it was. */
  pausedAt?: CallRecord;
  private pause?: { at: number | ((call: CallRecord) => boolean); phase: 'before' | 'after'; reached: Deferred; released: Deferred; hit: boolean };

  constructor(private readonly plan: FaultPlan = {}) {}

  /** Number of calls started so far. */
  get count(): number {
    return this.calls.length;
  }

  /** The number of the call the plan crashed at, once it did. */
  get crashedAtCall(): number | undefined {
    return this.crashedAt;
  }

  /** True once an injected crash killed the process (`die`). */
  get died(): boolean {
    return this.dead;
  }

  /** True once an injected crash happened. */
  get crashed(): boolean {
    return this.dead || this.crashedAt !== undefined;
  }

  /**
   * Pauses the attempt at call `at` (a 1-based number, or the first call matching a predicate),
   * before it is sent or after it took effect, until released.
   */
  pauseAt(at: number | ((call: CallRecord) => boolean), phase: 'before' | 'after' = 'before'): Pause {
    const p = { at, phase, reached: deferred(), released: deferred(), hit: false };
    this.pause = p;
    return { reached: p.reached.promise, release: () => p.released.resolve() };
  }

  private async hold(call: CallRecord, phase: 'before' | 'after'): Promise<void> {
    const p = this.pause;
    if (p && !p.hit && p.phase === phase && (typeof p.at === 'number' ? p.at === call.n : p.at(call))) {
      p.hit = true;
      this.pausedAt = call;
      p.reached.resolve();
      await p.released.promise;
    }
  }

  /** Runs one intercepted call through the plan. */
  async step<R>(operation: string, key: string | undefined, fn: () => Promise<R>): Promise<R> {
    const n = this.calls.length + 1;
    const call: CallRecord = { n, operation, key };
    this.calls.push(call);
    const { crashAt, phase = 'before', die = true } = this.plan;
    if (this.dead) throw new CrashError(n, 'dead', operation);
    const crashHere = this.crashedAt === undefined && (typeof crashAt === 'function' ? crashAt(call) : crashAt === n);
    if (crashHere && phase === 'before') {
      this.dead = die;
      this.crashedAt = n;
      throw new CrashError(n, 'before', operation);
    }
    await this.hold(call, 'before');
    if (this.dead) throw new CrashError(n, 'dead', operation);
    const result = await fn();
    if (crashHere && phase === 'after') {
      this.dead = die;
      this.crashedAt = n;
      throw new CrashError(n, 'after', operation);
    }
    await this.hold(call, 'after');
    return result;
  }

  /** The store with this injector in front of every call. */
  wrapStore(store: ObjectStore): ObjectStore {
    return {
      get: (key: string): Promise<StoredObject | null> => this.step('s3.get', key, () => store.get(key)),
      put: (key: string, body: Uint8Array, options?: PutOptions) => this.step('s3.put', key, () => store.put(key, body, options)),
      deleteMany: (keys: string[]) => this.step('s3.deleteMany', keys[0], () => store.deleteMany(keys)),
      list: (prefix: string, startAfter?: string): AsyncIterable<ListedObject> => {
        const step = this.step.bind(this);
        return {
          async *[Symbol.asyncIterator]() {
            const all: ListedObject[] = await step('s3.list', prefix, async () => {
              const out: ListedObject[] = [];
              for await (const o of store.list(prefix, startAfter)) out.push(o);
              return out;
            });
            yield* all;
          },
        };
      },
    };
  }

  /** The catalog with this injector in front of every call. */
  wrapCatalog(catalog: Catalog): Catalog {
    return {
      registerPartitions: (database: string, table: string, partitions: PartitionInput[]): Promise<RegisterResult> =>
        this.step('glue.batchCreatePartition', table, () => catalog.registerPartitions(database, table, partitions)),
    };
  }

  /** The table catalog (Glue GetTable / CreateTable / UpdateTable of the Iceberg commit) with this injector in front of every call. */
  wrapTableCatalog(catalog: TableCatalog): TableCatalog {
    return {
      getTable: (database: string, table: string): Promise<CatalogTable | null> => this.step('glue.getTable', table, () => catalog.getTable(database, table)),
      createTable: (database: string, input: TableInput) => this.step('glue.createTable', input.Name, () => catalog.createTable(database, input)),
      updateTable: (database: string, input: TableInput, versionId: string | undefined) => this.step('glue.updateTable', input.Name, () => catalog.updateTable(database, input, versionId)),
    };
  }
}
