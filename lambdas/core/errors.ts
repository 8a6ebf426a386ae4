/**
 * The base of every error Lakeloader throws on purpose. `code` is stable (UPPER_SNAKE_CASE, one
 * per class): the CLI prints it, tests match on it, and operators can grep logs for it, while the
 * message stays free to say in words what happened and what to set.
 */
export abstract class LakeloaderError extends Error {
  /** A stable identifier of the kind of error, e.g. `PIPELINE_DECLARATION`. */
  abstract readonly code: string;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}
