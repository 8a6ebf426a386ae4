/**
 * Errors of the local AWS endpoint, each rendered in its service's wire shape: S3 as an XML
 * `<Error>` document with an HTTP status, Glue and Athena as JSON 1.1 `{"__type", "message"}`.
 * Service code throws these; the server turns them into responses, so no request ever hangs.
 */

/**
 * An S3 error: `code` is the S3 error code (NoSuchKey, PreconditionFailed, ...), `status` the HTTP
 * status, `extra` more elements of the XML document, `headers` response headers S3 sends with it
 * (e.g. `x-amz-delete-marker` on a NoSuchKey for a deleted key).
 */
export class S3Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly extra: Record<string, string> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'S3Error';
  }
}

/** A JSON 1.1 error of Glue or Athena: `type` becomes `__type` (EntityNotFoundException, ...). */
export class AwsJsonError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = 'AwsJsonError';
  }
}

/** Common S3 errors, with the messages AWS uses. */
export const s3Errors = {
  noSuchBucket: (bucket: string) => new S3Error('NoSuchBucket', 'The specified bucket does not exist', 404, { BucketName: bucket }),
  noSuchKey: (key: string, headers: Record<string, string> = {}) => new S3Error('NoSuchKey', 'The specified key does not exist.', 404, { Key: key }, headers),
  preconditionFailed: (condition: string) =>
    new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412, { Condition: condition }),
  invalidRange: (range: string, size: number) =>
    new S3Error('InvalidRange', 'The requested range is not satisfiable', 416, { RangeRequested: range, ActualObjectSize: String(size) }),
  notImplemented: (what: string) =>
    new S3Error('NotImplemented', `${what} is not implemented by the Lakeloader local endpoint (see docs/local-endpoint.md for what is)`, 501),
  invalidArgument: (message: string, extra: Record<string, string> = {}) => new S3Error('InvalidArgument', message, 400, extra),
  malformedXml: (detail?: string) =>
    new S3Error('MalformedXML', `The XML you provided was not well-formed or did not validate against our published schema${detail ? ` (${detail})` : ''}`, 400),
};

/** Glue errors. */
export const glueErrors = {
  notFound: (what: string) => new AwsJsonError('EntityNotFoundException', `${what} not found.`),
  alreadyExists: (what: string) => new AwsJsonError('AlreadyExistsException', `${what} already exists.`),
  invalidInput: (message: string) => new AwsJsonError('InvalidInputException', message),
};
