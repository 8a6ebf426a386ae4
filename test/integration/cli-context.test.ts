import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliContextError, resolveContext } from '../../lib/cli/context';
import { OutputFormatError, formatCsv, formatJsonRows, formatTable, parseFormat } from '../../lib/cli/output';

describe('CLI context resolution', () => {
  const outputs = join(mkdtempSync(join(tmpdir(), 'ctx-')), 'outputs.json');
  writeFileSync(outputs, JSON.stringify({ LakeStack: { LakeBucketName: 'acme-lake', GlueDatabaseName: 'acme_db', AthenaWorkGroupName: 'acme-wg', Other: 'x' } }));

  it('uses local defaults when nothing is set (endpoint, dummy credentials, path-style)', async () => {
    const c = resolveContext({}, {});
    expect(c).toMatchObject({ endpoint: 'http://127.0.0.1:4566', region: 'us-east-1', bucket: 'lakeloader-local', database: 'lakeloader', workgroup: 'lakeloader' });
    expect(Object.values(c.sources).every((s) => s === 'default')).toBe(true);
    expect(await c.s3().config.credentials()).toMatchObject({ accessKeyId: 'test' });
    expect(c.s3().config.forcePathStyle).toBe(true);
    expect(c.loaderEnv('clickstream')).toMatchObject({ LAKELOADER_PIPELINE: 'clickstream', LAKELOADER_BUCKET: 'lakeloader-local', LAKELOADER_GLUE_DATABASE: 'lakeloader', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' });
  });

  it('flags beat the environment, which beats the CDK outputs file, which beats the defaults', () => {
    const env = { LAKELOADER_OUTPUTS: outputs, LAKELOADER_BUCKET: 'env-bucket', AWS_REGION: 'eu-west-1' };
    const c = resolveContext({ database: 'flag_db' }, env);
    expect(c).toMatchObject({ bucket: 'env-bucket', database: 'flag_db', workgroup: 'acme-wg', region: 'eu-west-1' });
    expect(c.sources).toMatchObject({ bucket: 'env', database: 'flag', workgroup: 'outputs', region: 'env' });
    // An outputs file means AWS: no local endpoint by default.
    expect(c.endpoint).toBeUndefined();
    expect(resolveContext({ outputs }, {})).toMatchObject({ bucket: 'acme-lake', database: 'acme_db', workgroup: 'acme-wg', endpoint: undefined });
  });

  it('takes the endpoint from LAKELOADER_ENDPOINT, then AWS_ENDPOINT_URL, and keeps real credentials', async () => {
    expect(resolveContext({}, { AWS_ENDPOINT_URL: 'http://localhost:9999' }).endpoint).toBe('http://localhost:9999');
    expect(resolveContext({}, { LAKELOADER_ENDPOINT: 'http://a:1', AWS_ENDPOINT_URL: 'http://b:2' }).endpoint).toBe('http://a:1');
    const withCreds = resolveContext({}, { AWS_ACCESS_KEY_ID: 'AKIAREAL', AWS_SECRET_ACCESS_KEY: 's' });
    expect(withCreds.endpoint).toBeUndefined();
    expect(withCreds.loaderEnv('clickstream').AWS_ACCESS_KEY_ID).toBeUndefined();
  });

  it('rejects a bad endpoint and an unreadable outputs file with what to fix', () => {
    expect(() => resolveContext({ endpoint: 'localhost:4566' }, {})).toThrow(CliContextError);
    expect(() => resolveContext({ outputs: '/nonexistent.json' }, {})).toThrow(/cdk deploy --outputs-file/);
  });
});

describe('CLI output formats', () => {
  const r = { columns: ['name', 'n'], rows: [['a,b', '1'], ['say "hi"', null], ['x', '12345']] };
  it('csv: header row then one line per row, RFC 4180 quoting, NULL empty', () => {
    expect(formatCsv(r)).toBe('name,n\n"a,b",1\n"say ""hi""",\nx,12345\n');
  });
  it('json: an array of row objects', () => {
    expect(JSON.parse(formatJsonRows(r))).toEqual([{ name: 'a,b', n: '1' }, { name: 'say "hi"', n: null }, { name: 'x', n: '12345' }]);
  });
  it('table: aligned, numbers right-aligned, NULL shown, row count', () => {
    const lines = formatTable(r).trimEnd().split('\n');
    expect(lines[0]).toBe('name     │ n');
    expect(lines[2]).toBe('a,b      │     1');
    expect(lines[3]).toBe('say "hi" │ NULL');
    expect(lines.at(-1)).toBe('(3 rows)');
  });
  it('rejects unknown formats', () => {
    expect(parseFormat('csv')).toBe('csv');
    expect(() => parseFormat('xml')).toThrow(OutputFormatError);
  });
});
