/**
 * GlueCatalog through the real AWS SDK v3 Glue client (wire protocol JSON 1.1) with a canned
 * HTTP handler, and the warm-container PartitionRegistrar cache.
 */
import { GlueClient, type PartitionInput } from '@aws-sdk/client-glue';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CatalogError, GLUE_BATCH_LIMIT, GlueCatalog, PartitionRegistrar } from '../../lambdas/core/catalog';
import { MemoryCatalog } from '../support/memory-catalog';

interface Canned {
  statusCode: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A Glue client whose HTTP layer answers from `answer(requestBody)` and records every request. */
function fakeGlue(answer: (req: { target: string; body: { PartitionInputList?: PartitionInput[] } }) => Canned) {
  const requests: Array<{ target: string; body: { DatabaseName?: string; TableName?: string; PartitionInputList?: PartitionInput[] } }> = [];
  const client = new GlueClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
    requestHandler: {
      handle: async (req: { headers: Record<string, string>; body: string | Uint8Array }) => {
        const text = typeof req.body === 'string' ? req.body : new TextDecoder().decode(req.body);
        const r = { target: req.headers['x-amz-target'] ?? '', body: JSON.parse(text) };
        requests.push(r);
        const a = answer(r);
        return {
          response: { statusCode: a.statusCode, headers: { 'content-type': 'application/x-amz-json-1.1', ...a.headers }, body: Readable.from([Buffer.from(JSON.stringify(a.body))]) },
        };
      },
    } as never,
  });
  return { client, requests };
}

const parts = (n: number, prefix = 'd'): PartitionInput[] =>
  Array.from({ length: n }, (_, i) => ({ Values: [`${prefix}${i}`], StorageDescriptor: { Location: `s3://lake/tables/t/dt=${prefix}${i}/` } }));

describe('GlueCatalog', () => {
  it('sends BatchCreatePartition in chunks of at most 100 and counts created partitions', async () => {
    const { client, requests } = fakeGlue(() => ({ statusCode: 200, body: {} }));
    const r = await new GlueCatalog(client).registerPartitions('db', 't', parts(250));
    expect(requests.map((q) => q.target)).toEqual(Array(3).fill('AWSGlue.BatchCreatePartition'));
    expect(requests.map((q) => q.body.PartitionInputList!.length)).toEqual([GLUE_BATCH_LIMIT, GLUE_BATCH_LIMIT, 50]);
    expect(requests[0]!.body).toMatchObject({ DatabaseName: 'db', TableName: 't' });
    expect(requests.flatMap((q) => q.body.PartitionInputList!.map((p) => p.Values![0]))).toEqual(parts(250).map((p) => p.Values![0]));
    expect(r).toEqual({ created: 250, existing: 0 });
  });

  it('accepts AlreadyExistsException entries', async () => {
    const { client } = fakeGlue(() => ({
      statusCode: 200,
      body: { Errors: [{ PartitionValues: ['d1'], ErrorDetail: { ErrorCode: 'AlreadyExistsException', ErrorMessage: 'Partition already exists.' } }] },
    }));
    expect(await new GlueCatalog(client).registerPartitions('db', 't', parts(3))).toEqual({ created: 2, existing: 1 });
  });

  it('throws a CatalogError naming the partition for any other entry error', async () => {
    const { client } = fakeGlue(() => ({
      statusCode: 200,
      body: { Errors: [{ PartitionValues: ['d2'], ErrorDetail: { ErrorCode: 'InvalidInputException', ErrorMessage: 'bad location' } }] },
    }));
    await expect(new GlueCatalog(client).registerPartitions('db', 't', parts(3))).rejects.toThrow(/db\.t rejected partition \[d2\]: InvalidInputException: bad location/);
  });

  it('throws a CatalogError with advice when the call fails', async () => {
    const { client } = fakeGlue(() => ({
      statusCode: 400,
      body: { __type: 'EntityNotFoundException', message: 'Table t not found.' },
    }));
    const err = await new GlueCatalog(client).registerPartitions('db', 't', parts(1)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogError);
    expect((err as Error).message).toMatch(/EntityNotFoundException: Table t not found.*glue:BatchCreatePartition/);
  });
});

describe('PartitionRegistrar', () => {
  it('registers each partition once per container and de-duplicates within a call', async () => {
    const catalog = new MemoryCatalog();
    const reg = new PartitionRegistrar(catalog);
    expect(await reg.register('db', 't', [...parts(2), ...parts(2)])).toEqual({ created: 2, existing: 0, cached: 2 });
    expect(await reg.register('db', 't', parts(3))).toEqual({ created: 1, existing: 0, cached: 2 });
    expect(await reg.register('db', 't', parts(3))).toEqual({ created: 0, existing: 0, cached: 3 });
    expect(catalog.calls).toEqual([2, 1]);
    // Another table with the same values is a different partition.
    await reg.register('db', 'u', parts(1));
    expect(catalog.calls).toEqual([2, 1, 1]);
  });

  it('does not cache partitions whose registration failed', async () => {
    const catalog = new MemoryCatalog();
    catalog.rejectEntry = () => 'InternalServiceException';
    const reg = new PartitionRegistrar(catalog);
    await expect(reg.register('db', 't', parts(1))).rejects.toThrow(CatalogError);
    catalog.rejectEntry = undefined;
    expect(await reg.register('db', 't', parts(1))).toEqual({ created: 1, existing: 0, cached: 0 });
  });
});
