/**
 * The AWS Glue Schema Registry actions of the local AWS endpoint (JSON 1.1, `AWSGlue.<Op>`):
 * CreateRegistry, GetRegistry, ListRegistries, DeleteRegistry, CreateSchema, GetSchema,
 * ListSchemas, DeleteSchema, RegisterSchemaVersion, GetSchemaVersion, GetSchemaByDefinition,
 * ListSchemaVersions, CheckSchemaVersionValidity. Compatibility modes as Glue names them (NONE,
 * DISABLED, BACKWARD (default), BACKWARD_ALL, FORWARD, FORWARD_ALL, FULL, FULL_ALL), checked by
 * compat.ts; an incompatible version is kept with status FAILURE, as Glue does. State is shared with
 * the Confluent API's store and persisted under the data directory.
 */
import { randomUUID } from 'node:crypto';
import { AwsJsonError, glueErrors } from '../errors';
import { compatibilityProblems, schemaProblem, type Compatibility, type SchemaType } from './compat';
import type { GlueSchema, GlueSchemaVersion, RegistryStore } from './store';

type Json = Record<string, unknown>;

/** The Glue operations this module answers. */
export const GLUE_SCHEMA_REGISTRY_OPERATIONS = new Set([
  'CreateRegistry', 'GetRegistry', 'ListRegistries', 'DeleteRegistry', 'CreateSchema', 'GetSchema', 'ListSchemas', 'DeleteSchema',
  'RegisterSchemaVersion', 'GetSchemaVersion', 'GetSchemaByDefinition', 'ListSchemaVersions', 'CheckSchemaVersionValidity',
]);

const ACCOUNT = '000000000000';
const DEFAULT_REGISTRY = 'default-registry';
const MODES: Record<string, Compatibility | 'DISABLED'> = {
  NONE: 'NONE', DISABLED: 'DISABLED', BACKWARD: 'BACKWARD', BACKWARD_ALL: 'BACKWARD_TRANSITIVE', FORWARD: 'FORWARD', FORWARD_ALL: 'FORWARD_TRANSITIVE', FULL: 'FULL', FULL_ALL: 'FULL_TRANSITIVE',
};
const NAME = /^[a-zA-Z0-9-_$#.]{1,255}$/;

/** The Glue Schema Registry of the local endpoint. */
export class LocalGlueSchemaRegistry {
  constructor(
    private readonly store: RegistryStore,
    private readonly region: string,
  ) {}

  private registryArn(name: string) {
    return `arn:aws:glue:${this.region}:${ACCOUNT}:registry/${name}`;
  }
  private schemaArn(s: GlueSchema) {
    return `arn:aws:glue:${this.region}:${ACCOUNT}:schema/${s.registry}/${s.name}`;
  }

  /**
   * The ARNs IAM evaluates a call on (the registry, and the schema where the call names one or
   * its version id resolves to one), for `lakeloader dev --enforce-iam`.
   */
  iamResources(input: Json): string[] {
    const versionId = input.SchemaVersionId;
    if (typeof versionId === 'string') {
      const s = Object.values(this.store.state.glue.schemas).find((x) => x.versions.some((v) => v.versionId === versionId));
      if (s) return [this.registryArn(s.registry), this.schemaArn(s)];
    }
    const sid = input.SchemaId as { SchemaName?: string; RegistryName?: string; SchemaArn?: string } | undefined;
    if (sid?.SchemaArn) {
      const m = /:schema\/([^/]+)\/(.+)$/.exec(sid.SchemaArn);
      if (m) return [this.registryArn(m[1]!), sid.SchemaArn];
    }
    if (sid?.SchemaName) {
      const registry = sid.RegistryName ?? DEFAULT_REGISTRY;
      return [this.registryArn(registry), `arn:aws:glue:${this.region}:${ACCOUNT}:schema/${registry}/${sid.SchemaName}`];
    }
    const rid = input.RegistryId as { RegistryName?: string; RegistryArn?: string } | undefined;
    const registry = rid?.RegistryArn ?? (rid?.RegistryName ? this.registryArn(rid.RegistryName) : typeof input.RegistryName === 'string' ? this.registryArn(input.RegistryName) : undefined);
    if (registry && typeof input.SchemaName === 'string') return [registry, `${registry.replace(':registry/', ':schema/')}/${input.SchemaName}`];
    return [registry ?? `arn:aws:glue:${this.region}:${ACCOUNT}:registry/*`];
  }

  private registryName(id: unknown, required = true): string {
    const r = id as { RegistryName?: string; RegistryArn?: string } | undefined;
    const name = r?.RegistryName ?? /:registry\/(.+)$/.exec(r?.RegistryArn ?? '')?.[1];
    if (!name) {
      if (!required) return DEFAULT_REGISTRY;
      throw glueErrors.invalidInput('RegistryId needs RegistryName or RegistryArn');
    }
    return name;
  }

  private schemaFor(id: unknown): GlueSchema {
    const s = id as { SchemaName?: string; RegistryName?: string; SchemaArn?: string } | undefined;
    let registry = s?.RegistryName ?? DEFAULT_REGISTRY;
    let name = s?.SchemaName;
    const m = /:schema\/([^/]+)\/(.+)$/.exec(s?.SchemaArn ?? '');
    if (m) [registry, name] = [m[1]!, m[2]!];
    if (!name) throw glueErrors.invalidInput('SchemaId needs SchemaArn or SchemaName (and RegistryName)');
    const found = this.store.state.glue.schemas[`${registry}/${name}`];
    if (!found) throw glueErrors.notFound(`Schema ${name} in registry ${registry}`);
    return found;
  }

  private versionBody(s: GlueSchema, v: GlueSchemaVersion) {
    return { SchemaVersionId: v.versionId, SchemaDefinition: v.definition, DataFormat: s.dataFormat, SchemaArn: this.schemaArn(s), VersionNumber: v.number, Status: v.status, CreatedTime: v.created };
  }

  private schemaBody(s: GlueSchema) {
    const ok = s.versions.filter((v) => v.status === 'AVAILABLE');
    return {
      RegistryName: s.registry,
      RegistryArn: this.registryArn(s.registry),
      SchemaName: s.name,
      SchemaArn: this.schemaArn(s),
      Description: s.description,
      DataFormat: s.dataFormat,
      Compatibility: s.compatibility,
      SchemaCheckpoint: ok[0]?.number ?? 1,
      LatestSchemaVersion: ok[ok.length - 1]?.number ?? 0,
      NextSchemaVersion: s.versions.length + 1,
      SchemaStatus: 'AVAILABLE',
      CreatedTime: s.created,
      UpdatedTime: s.versions[s.versions.length - 1]?.created ?? s.created,
    };
  }

  /** Adds a version (or finds the same definition), checking compatibility; FAILURE when incompatible. */
  private addVersion(s: GlueSchema, definition: string): GlueSchemaVersion {
    const same = s.versions.find((v) => v.definition.trim() === definition.trim() || canonicalEqual(v.definition, definition));
    if (same) return same;
    const problem = schemaProblem(s.dataFormat, definition);
    if (problem) throw glueErrors.invalidInput(`Schema definition of ${s.dataFormat} data format is invalid: ${problem}`);
    const mode = MODES[s.compatibility] ?? 'BACKWARD';
    const ok = s.versions.filter((v) => v.status === 'AVAILABLE');
    if (mode === 'DISABLED' && ok.length > 0) throw glueErrors.invalidInput(`Compatibility DISABLED does not allow new versions of schema ${s.name}`);
    const problems = mode === 'DISABLED' ? [] : compatibilityProblems(s.dataFormat, mode, definition, ok.map((v) => v.definition));
    const v: GlueSchemaVersion = { versionId: randomUUID(), number: s.versions.length + 1, definition, status: problems.length ? 'FAILURE' : 'AVAILABLE', created: new Date().toISOString(), ...(problems.length ? { error: problems.join('; ') } : {}) };
    s.versions.push(v);
    return v;
  }

  /** Dispatches one Glue Schema Registry operation. */
  async handle(op: string, input: Json): Promise<unknown> {
    const st = this.store.state.glue;
    switch (op) {
      case 'CreateRegistry':
        return this.store.mutate(() => {
          const name = String(input.RegistryName ?? '');
          if (!NAME.test(name)) throw glueErrors.invalidInput(`RegistryName must match ${NAME}`);
          if (st.registries[name]) throw glueErrors.alreadyExists(`Registry ${name}`);
          st.registries[name] = { description: input.Description as string | undefined, created: new Date().toISOString() };
          return { RegistryArn: this.registryArn(name), RegistryName: name, Description: input.Description };
        });
      case 'GetRegistry': {
        const name = this.registryName(input.RegistryId);
        const r = st.registries[name];
        if (!r) throw glueErrors.notFound(`Registry ${name}`);
        return { RegistryName: name, RegistryArn: this.registryArn(name), Description: r.description, Status: 'AVAILABLE', CreatedTime: r.created, UpdatedTime: r.created };
      }
      case 'ListRegistries':
        return { Registries: Object.entries(st.registries).map(([name, r]) => ({ RegistryName: name, RegistryArn: this.registryArn(name), Description: r.description, Status: 'AVAILABLE', CreatedTime: r.created })) };
      case 'DeleteRegistry':
        return this.store.mutate(() => {
          const name = this.registryName(input.RegistryId);
          if (!st.registries[name]) throw glueErrors.notFound(`Registry ${name}`);
          delete st.registries[name];
          for (const k of Object.keys(st.schemas)) if (k.startsWith(`${name}/`)) delete st.schemas[k];
          return { RegistryName: name, RegistryArn: this.registryArn(name), Status: 'DELETING' };
        });
      case 'CreateSchema':
        return this.store.mutate(() => {
          const registry = this.registryName(input.RegistryId, false);
          if (registry === DEFAULT_REGISTRY) st.registries[registry] ??= { created: new Date().toISOString() };
          if (!st.registries[registry]) throw glueErrors.notFound(`Registry ${registry}`);
          const name = String(input.SchemaName ?? '');
          if (!NAME.test(name)) throw glueErrors.invalidInput(`SchemaName must match ${NAME}`);
          const format = String(input.DataFormat ?? '') as SchemaType;
          if (!['AVRO', 'JSON', 'PROTOBUF'].includes(format)) throw glueErrors.invalidInput('DataFormat must be AVRO, JSON or PROTOBUF');
          const compatibility = String(input.Compatibility ?? 'BACKWARD');
          if (!(compatibility in MODES)) throw glueErrors.invalidInput(`Compatibility must be one of ${Object.keys(MODES).join(', ')}`);
          if (st.schemas[`${registry}/${name}`]) throw glueErrors.alreadyExists(`Schema ${name}`);
          const s: GlueSchema = { registry, name, dataFormat: format, compatibility, description: input.Description as string | undefined, created: new Date().toISOString(), versions: [] };
          const v = typeof input.SchemaDefinition === 'string' ? this.addVersion(s, input.SchemaDefinition) : undefined;
          st.schemas[`${registry}/${name}`] = s;
          return { ...this.schemaBody(s), ...(v ? { SchemaVersionId: v.versionId, SchemaVersionStatus: v.status } : {}) };
        });
      case 'GetSchema':
        return this.schemaBody(this.schemaFor(input.SchemaId));
      case 'ListSchemas': {
        const registry = input.RegistryId ? this.registryName(input.RegistryId) : undefined;
        return { Schemas: Object.values(st.schemas).filter((s) => !registry || s.registry === registry).map((s) => ({ RegistryName: s.registry, SchemaName: s.name, SchemaArn: this.schemaArn(s), SchemaStatus: 'AVAILABLE', CreatedTime: s.created })) };
      }
      case 'DeleteSchema':
        return this.store.mutate(() => {
          const s = this.schemaFor(input.SchemaId);
          delete st.schemas[`${s.registry}/${s.name}`];
          return { SchemaArn: this.schemaArn(s), SchemaName: s.name, Status: 'DELETING' };
        });
      case 'RegisterSchemaVersion':
        return this.store.mutate(() => {
          const s = this.schemaFor(input.SchemaId);
          if (typeof input.SchemaDefinition !== 'string') throw glueErrors.invalidInput('SchemaDefinition is required');
          const v = this.addVersion(s, input.SchemaDefinition);
          return { SchemaVersionId: v.versionId, VersionNumber: v.number, Status: v.status };
        });
      case 'GetSchemaVersion': {
        if (typeof input.SchemaVersionId === 'string') {
          for (const s of Object.values(st.schemas)) {
            const v = s.versions.find((x) => x.versionId === input.SchemaVersionId);
            if (v) return this.versionBody(s, v);
          }
          if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(input.SchemaVersionId)) throw glueErrors.invalidInput(`SchemaVersionId ${input.SchemaVersionId} is not a UUID`);
          throw glueErrors.notFound(`Schema version ${input.SchemaVersionId}`);
        }
        const s = this.schemaFor(input.SchemaId);
        const n = input.SchemaVersionNumber as { LatestVersion?: boolean; VersionNumber?: number } | undefined;
        const ok = s.versions.filter((v) => v.status === 'AVAILABLE');
        const v = n?.LatestVersion || n === undefined ? ok[ok.length - 1] : s.versions.find((x) => x.number === n.VersionNumber);
        if (!v) throw glueErrors.notFound(`Schema version of ${s.name}`);
        return this.versionBody(s, v);
      }
      case 'GetSchemaByDefinition': {
        const s = this.schemaFor(input.SchemaId);
        const def = String(input.SchemaDefinition ?? '');
        const v = s.versions.find((x) => x.definition.trim() === def.trim() || canonicalEqual(x.definition, def));
        if (!v) throw glueErrors.notFound(`Schema version with this definition in ${s.name}`);
        return { SchemaVersionId: v.versionId, SchemaArn: this.schemaArn(s), DataFormat: s.dataFormat, Status: v.status, CreatedTime: v.created };
      }
      case 'ListSchemaVersions': {
        const s = this.schemaFor(input.SchemaId);
        return { Schemas: s.versions.map((v) => ({ SchemaArn: this.schemaArn(s), SchemaVersionId: v.versionId, VersionNumber: v.number, Status: v.status, CreatedTime: v.created })) };
      }
      case 'CheckSchemaVersionValidity': {
        const problem = schemaProblem(String(input.DataFormat ?? 'AVRO') as SchemaType, String(input.SchemaDefinition ?? ''));
        return problem ? { Valid: false, Error: problem } : { Valid: true };
      }
    }
    throw new AwsJsonError('UnsupportedOperationException', `Glue operation ${op} is not implemented by the local endpoint`);
  }
}

function canonicalEqual(a: string, b: string): boolean {
  try {
    return JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b));
  } catch {
    return false;
  }
}
