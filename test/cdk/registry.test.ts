/**
 * The schema-registry wiring of a loader: least-privilege IAM for the registry the pipeline
 * declares (Glue: GetSchemaVersion on that registry and its schemas; Confluent: reading the one
 * credentials secret; evolving a Hive table: UpdateTable on that table only), the event source
 * mapping's own registry integration (provisioned mode only: turned on, or refused at synth with
 * what to set), and the schema file bundled beside the loader at its relative path, where the
 * bundle reads it.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { definePipeline, type Pipeline, type PipelineDeclaration } from '../../lambdas/core/pipeline';
import { LakeLoader, type LakeLoaderProps } from '../../lib/infra/lake-loader';
import { LakeStack } from '../../lib/infra/lake-stack';
import { loadPipelineFile } from '../../lib/pipelines';
import { clickstream } from '../fixtures/pipelines/clickstream';
import { actionsOf, build, flat, MSK_ARN, resourcesOf, roleStatements, type Statement } from './helpers';

const SR_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:lake/sr-credentials-AbCdEf';
const base: Omit<PipelineDeclaration, 'name' | 'valueFormat'> = {
  topics: ['orders'],
  columns: [{ name: 'ts', type: 'timestamp', required: true }],
  partitioning: { by: 'eventTime', source: 'ts', granularity: 'day' },
};
const glueAvro = definePipeline({ ...base, name: 'orders_glue', valueFormat: 'avro', schemaRegistry: { type: 'glue', registryName: 'lake' } });
const confluentByName = definePipeline({ ...base, name: 'orders_cf', valueFormat: 'avro', schemaRegistry: { type: 'confluent', url: 'https://sr.example.com', credentialsSecret: 'lake/sr-credentials' } });
const confluentByArn = definePipeline({ ...base, name: 'orders_cf_arn', valueFormat: 'protobuf', keyFormat: 'avro', schemaRegistry: { type: 'confluent', url: 'https://sr.example.com', credentialsSecret: SR_SECRET_ARN } });
const hiveEvolving = definePipeline({ ...base, name: 'orders_hive', format: 'hive', valueFormat: 'avro', schemaRegistry: { type: 'confluent', url: 'https://sr.example.com' } });

function loader(pipeline: Pipeline, over: Partial<LakeLoaderProps> = {}) {
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  new LakeLoader(stack, 'L', { pipeline, bucket: new s3.Bucket(stack, 'B'), databaseName: 'db', kafka: { kind: 'msk', clusterArn: MSK_ARN }, ...over });
  const template = Template.fromStack(stack);
  const esm = Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))[0]!.Properties;
  return { template, esm, statements: roleStatements(template, 'LRole') };
}
const bySid = (st: Statement[], sid: string) => st.filter((s) => s.Sid === sid);
const registryActions = (st: Statement[]) => st.filter((s) => actionsOf(s).some((a) => a.startsWith('glue:GetSchema') || a === 'glue:GetRegistry' || a.startsWith('secretsmanager:')));

describe('IAM for the pipeline\'s schema registry', () => {
  it('Glue registry: GetSchemaVersion on that registry and its schemas, nothing else', () => {
    const { statements } = loader(glueAvro);
    const read = bySid(statements, 'GlueSchemaRegistryRead');
    expect(read).toHaveLength(1);
    expect(actionsOf(read[0]!)).toEqual(['glue:GetSchemaVersion']);
    expect(resourcesOf(read[0]!)).toEqual(['arn:${AWS::Partition}:glue:eu-west-1:123456789012:registry/lake', 'arn:${AWS::Partition}:glue:eu-west-1:123456789012:schema/lake/*']);
    expect(registryActions(statements)).toEqual(read);
  });

  it('Confluent registry: reads the one credentials secret (by name: its ARN with the 6-character suffix wildcard; by ARN: exactly)', () => {
    const byName = bySid(loader(confluentByName).statements, 'SchemaRegistryCredentials');
    expect(byName.map((s) => [actionsOf(s), resourcesOf(s)])).toEqual([[['secretsmanager:GetSecretValue'], ['arn:${AWS::Partition}:secretsmanager:eu-west-1:123456789012:secret:lake/sr-credentials-??????']]]);
    const byArn = loader(confluentByArn).statements;
    expect(bySid(byArn, 'SchemaRegistryCredentials').map(resourcesOf)).toEqual([[SR_SECRET_ARN]]);
    expect(registryActions(byArn)).toHaveLength(1);
  });

  it('no registry, no credentials: no registry or secret statements; a Hive table that evolves may UpdateTable its own table only', () => {
    expect(registryActions(loader(clickstream).statements)).toEqual([]);
    const hive = loader(hiveEvolving).statements;
    expect(registryActions(hive)).toEqual([]);
    const evolve = bySid(hive, 'GlueEvolveTable');
    expect(evolve.map((s) => [actionsOf(s), resourcesOf(s).filter((r) => r.includes(':table/'))])).toEqual([[['glue:UpdateTable'], ['arn:${AWS::Partition}:glue:eu-west-1:123456789012:table/db/orders_hive']]]);
  });
});

describe('the event source mapping\'s schema registry integration (esmSchemaRegistry)', () => {
  it('off by default: no registry config on the mapping, pollers on demand', () => {
    const { esm } = loader(glueAvro);
    expect(esm.AmazonManagedKafkaEventSourceConfig.SchemaRegistryConfig).toBeUndefined();
    expect(esm.ProvisionedPollerConfig).toBeUndefined();
  });

  it('Glue: the registry ARN, records delivered as they are (SOURCE), values validated; provisioned pollers turned on; GetRegistry added', () => {
    const { esm, statements } = loader(glueAvro, { esmSchemaRegistry: true });
    const config = esm.AmazonManagedKafkaEventSourceConfig.SchemaRegistryConfig;
    expect({ ...config, SchemaRegistryURI: flat(config.SchemaRegistryURI) }).toEqual({ SchemaRegistryURI: 'arn:${AWS::Partition}:glue:eu-west-1:123456789012:registry/lake', EventRecordFormat: 'SOURCE', SchemaValidationConfigs: [{ Attribute: 'VALUE' }] });
    expect(esm.ProvisionedPollerConfig).toMatchObject({ MinimumPollers: 1, MaximumPollers: 3 });
    expect(bySid(statements, 'EsmGlueSchemaRegistry').map((s) => [actionsOf(s), resourcesOf(s)])).toEqual([[['glue:GetRegistry'], ['arn:${AWS::Partition}:glue:eu-west-1:123456789012:registry/lake']]]);
  });

  it('Confluent: the URL with the credentials secret as BASIC_AUTH; Avro keys are validated too; self-managed Kafka carries it alike', () => {
    const { esm } = loader(confluentByArn, { esmSchemaRegistry: {}, provisionedPollers: { minimumPollers: 2, maximumPollers: 4 } });
    expect(esm.AmazonManagedKafkaEventSourceConfig.SchemaRegistryConfig).toEqual({
      SchemaRegistryURI: 'https://sr.example.com',
      EventRecordFormat: 'SOURCE',
      AccessConfigs: [{ Type: 'BASIC_AUTH', URI: SR_SECRET_ARN }],
      SchemaValidationConfigs: [{ Attribute: 'KEY' }, { Attribute: 'VALUE' }],
    });
    expect(esm.ProvisionedPollerConfig).toMatchObject({ MinimumPollers: 2, MaximumPollers: 4 });
    const self = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Self');
    new LakeLoader(self, 'L', { pipeline: confluentByArn, bucket: new s3.Bucket(self, 'B'), databaseName: 'db', kafka: { kind: 'selfManaged', bootstrapServers: ['b1:9096'], vpc: { subnetIds: ['subnet-1'], securityGroupIds: ['sg-1'] } }, esmSchemaRegistry: { validate: ['value'] } });
    const selfEsm = Object.values(Template.fromStack(self).findResources('AWS::Lambda::EventSourceMapping'))[0]!.Properties;
    expect(selfEsm.SelfManagedKafkaEventSourceConfig.SchemaRegistryConfig).toMatchObject({ SchemaRegistryURI: 'https://sr.example.com', SchemaValidationConfigs: [{ Attribute: 'VALUE' }] });
  });

  it('fails at synth with what to set: on-demand pollers, no registry, a secret named without its ARN, keys that are not framed', () => {
    expect(() => loader(glueAvro, { esmSchemaRegistry: true, provisionedPollers: false })).toThrow(/esmSchemaRegistry is a provisioned-mode feature of the event source mapping: remove provisionedPollers: false/);
    expect(() => loader(clickstream, { esmSchemaRegistry: true })).toThrow(/pipeline "clickstream" declares none: set schemaRegistry/);
    expect(() => loader(confluentByName, { esmSchemaRegistry: true })).toThrow(/set schemaRegistry.credentialsSecret to the full ARN of "lake\/sr-credentials"/);
    expect(() => loader(glueAvro, { esmSchemaRegistry: { validate: ['key'] } })).toThrow(/'key' needs keys framed by the registry/);
  });

  it('as a LakeStack option it applies to the pipelines that declare a registry; the others keep on-demand pollers', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new LakeStack(app, 'Mixed', { pipelines: [glueAvro, clickstream], kafka: { kind: 'msk', clusterArn: MSK_ARN }, loader: { esmSchemaRegistry: true } });
    const esms = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::EventSourceMapping')).map((r) => r.Properties);
    const of = (topic: string) => esms.find((e) => e.Topics[0] === topic)!;
    expect(of('orders').AmazonManagedKafkaEventSourceConfig.SchemaRegistryConfig.EventRecordFormat).toBe('SOURCE');
    expect(of('orders').ProvisionedPollerConfig).toBeDefined();
    expect(of('clicks').AmazonManagedKafkaEventSourceConfig.SchemaRegistryConfig).toBeUndefined();
    expect(of('clicks').ProvisionedPollerConfig).toBeUndefined();
  }, 60_000);
});

describe('a schema file in the loader bundle', () => {
  let outdir: string | undefined;
  afterAll(async () => {
    if (outdir) await rm(outdir, { recursive: true, force: true });
  });

  it('is copied beside the bundle at its relative path, where the bundled pipeline reads it when Lambda loads it', async () => {
    const file = resolve(__dirname, '..', 'fixtures', 'registry-pipelines', 'clicks_avro.ts');
    const pipeline = loadPipelineFile(file);
    expect(pipeline.schema?.path).toBe('schemas/clickstream.avsc');
    outdir = await mkdtemp(join(tmpdir(), 'lakeloader-cdk-schema-'));
    const { app, template } = build({ mskClusterArn: MSK_ARN }, { bundle: true, outdir, pipelines: [pipeline] });
    app.synth();
    const fn = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => f.Properties.Environment?.Variables?.LAKELOADER_PIPELINE === 'clicks_avro')!;
    const assetDir = join(outdir, `asset.${String(fn.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
    expect(readFileSync(join(assetDir, 'schemas', 'clickstream.avsc'), 'utf8')).toBe(readFileSync(resolve(__dirname, '..', '..', 'schemas', 'clickstream.avsc'), 'utf8'));
    // Loaded as Lambda loads it (task root = the asset directory): the pipeline's columns come from the bundled file.
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { LAMBDA_TASK_ROOT: assetDir, LAKELOADER_PROJECT_ROOT: '', LAKELOADER_PIPELINE: 'clicks_avro', LAKELOADER_BUCKET: 'b', LAKELOADER_GLUE_DATABASE: 'db', AWS_REGION: 'eu-west-1' });
      const indexJs = join(assetDir, 'index.js');
      const mod = createRequire(indexJs)(indexJs) as { handler: unknown };
      expect(typeof mod.handler).toBe('function');
    } finally {
      process.env = saved;
    }
    expect(readFileSync(join(assetDir, 'index.js'), 'utf8')).toContain('Avro clicks read with a schema file (test fixture).');
  }, 120_000);
});
