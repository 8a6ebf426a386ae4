/** The Glue Schema Registry calls are authorized on the registry and schema ARNs, as Glue does. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalGlueSchemaRegistry } from '../../lib/local/registry/glue-sr';
import { RegistryStore } from '../../lib/local/registry/store';

const dir = mkdtempSync(join(tmpdir(), 'gsr-iam-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const arn = (r: string) => `arn:aws:glue:eu-west-1:000000000000:${r}`;

describe('LocalGlueSchemaRegistry.iamResources', () => {
  it('resolves a schema version id to its registry and schema', async () => {
    const gsr = new LocalGlueSchemaRegistry(await RegistryStore.open(dir), 'eu-west-1');
    await gsr.handle('CreateRegistry', { RegistryName: 'orders-reg' });
    const created = (await gsr.handle('CreateSchema', {
      RegistryId: { RegistryName: 'orders-reg' },
      SchemaName: 'orders-value',
      DataFormat: 'AVRO',
      Compatibility: 'BACKWARD',
      SchemaDefinition: JSON.stringify({ type: 'record', name: 'O', fields: [{ name: 'id', type: 'string' }] }),
    })) as { SchemaVersionId: string };
    expect(gsr.iamResources({ SchemaVersionId: created.SchemaVersionId })).toEqual([arn('registry/orders-reg'), arn('schema/orders-reg/orders-value')]);
    expect(gsr.iamResources({ SchemaId: { RegistryName: 'orders-reg', SchemaName: 'x' } })).toEqual([arn('registry/orders-reg'), arn('schema/orders-reg/x')]);
    expect(gsr.iamResources({ RegistryId: { RegistryName: 'orders-reg' }, SchemaName: 'y' })).toEqual([arn('registry/orders-reg'), arn('schema/orders-reg/y')]);
    expect(gsr.iamResources({ RegistryName: 'other' })).toEqual([arn('registry/other')]);
    expect(gsr.iamResources({ SchemaVersionId: 'unknown' })).toEqual([arn('registry/*')]);
  });
});
