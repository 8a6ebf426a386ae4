/**
 * The local schema registries' state, persisted as one JSON file under the data directory
 * (`<dataDir>/schema-registry/state.json`, written atomically after every change), so schemas and
 * their ids survive a restart of `lakeloader dev`. One store serves both the Confluent REST API
 * and the Glue Schema Registry actions; their namespaces are separate.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite } from '../store';
import type { Compatibility, SchemaType } from './compat';

export interface Reference {
  name: string;
  subject: string;
  version: number;
}

export interface StoredSchema {
  id: number;
  schemaType: SchemaType;
  schema: string;
  references: Reference[];
}

export interface SubjectVersion {
  version: number;
  id: number;
  deleted?: boolean;
}

export interface GlueSchemaVersion {
  versionId: string;
  number: number;
  definition: string;
  status: 'AVAILABLE' | 'FAILURE';
  created: string;
  error?: string;
}

export interface GlueSchema {
  registry: string;
  name: string;
  dataFormat: SchemaType;
  compatibility: string;
  description?: string;
  created: string;
  versions: GlueSchemaVersion[];
}

export interface RegistryState {
  nextId: number;
  schemas: StoredSchema[];
  subjects: Record<string, { versions: SubjectVersion[]; compatibility?: Compatibility; deleted?: boolean }>;
  compatibility: Compatibility;
  glue: { registries: Record<string, { description?: string; created: string }>; schemas: Record<string, GlueSchema> };
}

/** The persisted state with serialized mutations. */
export class RegistryStore {
  private chain: Promise<unknown> = Promise.resolve();
  private constructor(
    private readonly dir: string,
    private readonly file: string,
    readonly state: RegistryState,
  ) {}

  /** Opens (or creates) the state under `<dataDir>/schema-registry/`. */
  static async open(dataDir: string): Promise<RegistryStore> {
    const dir = join(dataDir, 'schema-registry');
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'state.json');
    let state: RegistryState;
    try {
      state = JSON.parse(await readFile(file, 'utf8')) as RegistryState;
    } catch {
      state = { nextId: 1, schemas: [], subjects: {}, compatibility: 'BACKWARD', glue: { registries: {}, schemas: {} } };
    }
    return new RegistryStore(dir, file, state);
  }

  /** Runs `fn` after every earlier mutation, then saves the state. */
  mutate<T>(fn: (s: RegistryState) => T | Promise<T>): Promise<T> {
    const run = this.chain.then(async () => {
      const out = await fn(this.state);
      await atomicWrite(join(this.dir, '.tmp'), this.file, JSON.stringify(this.state));
      return out;
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}
