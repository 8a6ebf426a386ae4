/**
 * Errors of the schema-registry formats. Two kinds, as everywhere in the loader: a record's own
 * fault (its frame, its schema, its bytes) quarantines that record with the reason; an
 * infrastructure fault (the registry cannot be reached) fails the batch so the event source
 * mapping retries it, and nothing is lost.
 */
import { LakeloaderError } from '../errors';

/**
 * The schema registry could not answer (network, 5xx, throttling, credentials): not the record's
 * fault. The batch fails and is retried.
 */
export class SchemaRegistryUnavailableError extends LakeloaderError {
  readonly code = 'SCHEMA_REGISTRY_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * A record whose writer schema does not fit the table (a type narrowed, a required field gone, a
 * new field while the pipeline does not evolve): quarantined with stage `schema`, the schema id and
 * the reason.
 */
export class SchemaMismatchError extends LakeloaderError {
  readonly code = 'SCHEMA_MISMATCH';
  readonly stage = 'schema' as const;
  constructor(message: string) {
    super(message);
  }
}

/** A schema (from a registry or a schema file) that cannot be read or mapped to columns. */
export class SchemaDefinitionError extends LakeloaderError {
  readonly code = 'SCHEMA_DEFINITION';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}
