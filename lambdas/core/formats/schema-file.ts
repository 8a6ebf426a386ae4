/**
 * Schema files in the repository (`schemaFile` of a declaration): read when the pipeline is
 * defined — by the CDK app at synth time, by the CLI, and in the Lambda, whose bundle carries the
 * file at the same relative path (lib/infra/lake-loader.ts copies it) — and mapped to columns, all
 * offline.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { ColumnDeclaration, RecordFormat } from '../pipeline';
import { compileAvro } from './avro';
import { toDeclarations } from './columns';
import { jsonSchemaColumns } from './jsonschema';
import { compileProtobuf } from './protobuf';

/** The file extensions each value format's schema file may have. */
export const SCHEMA_FILE_EXTENSIONS: Record<RecordFormat, string[]> = { avro: ['.avsc', '.json'], protobuf: ['.proto'], json: ['.json'] };

/**
 * The directory schema file paths are relative to: `LAKELOADER_PROJECT_ROOT`, else the Lambda's task
 * root (`LAMBDA_TASK_ROOT`, where the bundle and its schema files are), else the working directory.
 */
export function schemaRoot(env: Record<string, string | undefined> = process.env): string {
  return env.LAKELOADER_PROJECT_ROOT || env.LAMBDA_TASK_ROOT || process.cwd();
}

/** Reads a schema file (relative to {@link schemaRoot}, or absolute). */
export function readSchemaFile(path: string): string {
  return readFileSync(isAbsolute(path) ? path : resolve(schemaRoot(), path), 'utf8');
}

/**
 * The column declarations a schema file maps to (see docs/schema-registry.md): a column per
 * top-level field, required where the schema says the field is never null. JSON columns read
 * their original field (`userId` → column `userid`, field `userId`); Avro and Protobuf rows
 * carry the column names already.
 * @throws SchemaDefinitionError when the schema is invalid or cannot be a table
 */
export function deriveSchemaColumns(format: RecordFormat, file: { path: string; text: string; message?: string }): ColumnDeclaration[] {
  if (format === 'avro') return toDeclarations(compileAvro(file.text, file.path).columns);
  if (format === 'protobuf') return toDeclarations(compileProtobuf(file.text, file.path).byName(file.message).columns);
  const cols = jsonSchemaColumns(file.text, file.path);
  return toDeclarations(cols).map((d, i) => (cols[i].source ? { ...d, field: cols[i].source } : d));
}
