/**
 * `--enforce-iam`: every request must be signed (SigV4, header or presigned) by a configured
 * access key, and is then judged against the IAM policies of the synthesized stack for the role
 * the key acts as — the loader role by default — and, for S3, the bucket policy. A refusal uses
 * the service's own wording: S3 `403 AccessDenied` / `SignatureDoesNotMatch` /
 * `InvalidAccessKeyId`, Glue and Athena `AccessDeniedException` / `InvalidSignatureException` /
 * `UnrecognizedClientException`.
 *
 * Local stand-ins: the account is the endpoint's (000000000000); `aws:SecureTransport` is true
 * (the endpoint is the plain-HTTP stand-in for AWS's HTTPS endpoints, and the stack's TLS-only
 * bucket policy would otherwise deny everything); the `root` key is the account root, whose
 * requests are not evaluated (for provisioning, as CloudFormation would).
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LakeloaderError } from '../../../lambdas/core/errors';
import { AwsJsonError, S3Error } from '../errors';
import type { S3Call } from '../s3/operations';
import { athenaRequests, glueRequests, s3Requests, type ActionRequest } from './actions';
import { readCloudAssembly, type AssemblyOptions, type StackIam, type StackRole } from './assembly';
import { evaluate, type DenyReason, type PolicyStatement, type Principal } from './policy';
import { canonicalRequest, MalformedAuthError, parseAmzDate, parseAuth, signature, signaturesEqual, stringToSign, type SignedRequestAuth } from './sigv4';

/** An access key the endpoint accepts, and the role it acts as. */
export interface IamCredential {
  accessKeyId: string;
  secretAccessKey: string;
  /** A role of the stack: its logical id, name, or the pipeline whose loader uses it; undefined = the account root (not evaluated). */
  role?: string;
}

/** Options of `--enforce-iam`. */
export interface EnforceIamOptions {
  /** Directory of a cloud assembly (`cdk synth` output, e.g. `cdk.out`). Either this or `stacks`. */
  cloudAssembly?: string;
  /** Stacks already read (tests, or a caller that synthesized in-process). */
  stacks?: StackIam[];
  /**
   * The role the default `test` key acts as: a pipeline name, role name or logical id.
   * @default the loader role of the first pipeline in the assembly
   */
  role?: string;
  /** Accepted keys. @default `test`/`test` as {@link role}, `root`/`root` as the account root */
  credentials?: IamCredential[];
  /** Logical id → physical name for resources CloudFormation would name (see {@link AssemblyOptions.names}). */
  names?: Record<string, string>;
  /** Stack output key → local name of the resource it refers to, e.g. `{ LakeBucketName: 'lakeloader-local' }`. */
  outputNames?: Record<string, string>;
}

/** A bad `--enforce-iam` configuration; the message says what to set. */
export class IamConfigError extends LakeloaderError {
  readonly code = 'IAM_CONFIG';
  constructor(message: string) {
    super(message);
  }
}

/** The authenticated caller of one request. */
export interface Identity {
  accessKeyId?: string;
  /** The account root: not evaluated. */
  root: boolean;
  principal: Principal;
  role?: StackRole;
  auth?: SignedRequestAuth;
}

type Service = 's3' | 'glue' | 'athena';
const SIGNING_NAME: Record<Service, string> = { s3: 's3', glue: 'glue', athena: 'athena' };
const SESSION = 'lakeloader-local';
const S3_MAX_SKEW_MS = 15 * 60_000;
const JSON_MAX_SKEW_MS = 5 * 60_000;

/** The request as the signature check needs it. */
export interface SignedInput {
  req: IncomingMessage;
  path: string;
  rawQuery: string;
  /** JSON services: the body (its SHA-256 is the payload hash). */
  body?: Buffer;
}

/** Checks signatures and policies for the endpoint. */
export class IamEnforcer {
  private readonly keys = new Map<string, { secret: string; role?: StackRole }>();
  private readonly bucketPolicies = new Map<string, PolicyStatement[]>();

  private constructor(
    private readonly stacks: StackIam[],
    credentials: IamCredential[],
    private readonly region: string,
    private readonly accountId: string,
  ) {
    for (const s of stacks) for (const [b, p] of s.bucketPolicies) this.bucketPolicies.set(b, [...(this.bucketPolicies.get(b) ?? []), ...p]);
    for (const c of credentials) this.keys.set(c.accessKeyId, { secret: c.secretAccessKey, ...(c.role !== undefined ? { role: this.findRole(c.role) } : {}) });
  }

  /**
   * Reads the policies (cloud assembly or given stacks) and the credentials.
   * @throws CloudAssemblyError / IamConfigError saying what to fix
   */
  static create(opts: EnforceIamOptions, region: string, accountId: string): IamEnforcer {
    const assembly: AssemblyOptions = { region, accountId, ...(opts.names ? { names: opts.names } : {}), ...(opts.outputNames ? { outputNames: opts.outputNames } : {}) };
    const stacks = opts.stacks ?? (opts.cloudAssembly ? readCloudAssembly(opts.cloudAssembly, assembly) : undefined);
    if (!stacks) throw new IamConfigError('--enforce-iam needs the policies: a cloud assembly directory (cdk.out, from `npx cdk synth`)');
    const roles = stacks.flatMap((s) => s.roles);
    const defaultRole = opts.role ?? roles.find((r) => r.pipeline)?.logicalId;
    if (!opts.credentials && !defaultRole) {
      throw new IamConfigError(`the cloud assembly has no loader function to take the role of; pass a role (one of: ${roles.map((r) => r.logicalId).join(', ') || 'none'})`);
    }
    const credentials = opts.credentials ?? [
      { accessKeyId: 'test', secretAccessKey: 'test', role: defaultRole! },
      { accessKeyId: 'root', secretAccessKey: 'root' },
    ];
    return new IamEnforcer(stacks, credentials, region, accountId);
  }

  private findRole(spec: string): StackRole {
    const roles = this.stacks.flatMap((s) => s.roles);
    const role =
      roles.find((r) => r.logicalId === spec || r.name === spec || r.pipeline === spec) ??
      roles.find((r) => r.logicalId.startsWith(spec));
    if (!role) {
      throw new IamConfigError(`no role "${spec}" in the cloud assembly; roles: ${roles.map((r) => `${r.logicalId}${r.pipeline ? ` (loader of ${r.pipeline})` : ''}`).join(', ') || 'none'}`);
    }
    return role;
  }

  /** One line per accepted key: who it is and what it may do. */
  describe(): string[] {
    return [...this.keys].map(([id, k]) =>
      k.role
        ? `${id} → role ${k.role.name}${k.role.pipeline ? ` (the loader of ${k.role.pipeline})` : ''}: ${k.role.statements.length} policy statements${k.role.unknownManagedPolicies.length ? `, unknown managed policies ignored: ${k.role.unknownManagedPolicies.join(', ')}` : ''}`
        : `${id} → the account root (not evaluated)`,
    );
  }

  /** The stacks' resolved outputs (e.g. GlueDatabaseName), merged. */
  outputs(): Record<string, string> {
    return Object.assign({}, ...this.stacks.map((s) => s.outputs)) as Record<string, string>;
  }

  /**
   * Verifies the request's signature and returns who sent it.
   * @throws S3Error / AwsJsonError in the service's shape
   */
  authenticate(service: Service, input: SignedInput): Identity {
    const err = errorsFor(service);
    let auth: SignedRequestAuth | undefined;
    try {
      auth = parseAuth(input.req, input.rawQuery);
    } catch (e) {
      if (e instanceof MalformedAuthError) throw err.malformed(e.message, e.presigned);
      throw e;
    }
    if (!auth) {
      if (service !== 's3') throw new AwsJsonError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403);
      return { root: false, principal: { accountId: this.accountId } };
    }
    const key = this.keys.get(auth.accessKeyId);
    if (!key) throw err.unknownKey(auth.accessKeyId);
    if (auth.region !== this.region) throw err.wrongRegion(auth.region, this.region);
    if (service !== 's3' && auth.service !== SIGNING_NAME[service]) {
      throw new AwsJsonError('InvalidSignatureException', `Credential should be scoped to correct service: '${SIGNING_NAME[service]}'. `);
    }
    const headerHash = input.req.headers['x-amz-content-sha256'];
    const queryHash = auth.presigned ? new URLSearchParams(input.rawQuery).get('X-Amz-Content-Sha256') : null;
    const payloadHash =
      queryHash ?? (typeof headerHash === 'string' ? headerHash
      : service === 's3' ? (auth.presigned ? 'UNSIGNED-PAYLOAD' : '')
      : createHash('sha256').update(input.body ?? Buffer.alloc(0)).digest('hex'));
    if (service === 's3' && !payloadHash) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256', 400);
    const canonical = canonicalRequest(auth, { method: input.req.method ?? 'GET', path: input.path, rawQuery: input.rawQuery, headers: input.req.headersDistinct, payloadHash, s3: service === 's3' });
    const toSign = stringToSign(auth, canonical);
    if (!signaturesEqual(signature(auth, key.secret, toSign), auth.signature)) throw err.mismatch(auth, toSign, canonical);
    const at = parseAmzDate(auth.amzDate);
    const now = Date.now();
    if (auth.presigned) {
      if (Number.isNaN(at) || now > at + auth.expires! * 1000) {
        throw new S3Error('AccessDenied', 'Request has expired', 403, { 'X-Amz-Expires': String(auth.expires), Expires: new Date(at + auth.expires! * 1000).toISOString(), ServerTime: new Date(now).toISOString() });
      }
    } else if (Number.isNaN(at) || Math.abs(now - at) > (service === 's3' ? S3_MAX_SKEW_MS : JSON_MAX_SKEW_MS)) {
      throw err.skewed(auth.amzDate, now);
    }
    const role = key.role;
    return {
      accessKeyId: auth.accessKeyId,
      root: !role,
      principal: role
        ? { roleArn: role.arn, sessionArn: `arn:aws:sts::${this.accountId}:assumed-role/${role.name}/${SESSION}`, accountId: this.accountId }
        : { roleArn: `arn:aws:iam::${this.accountId}:root`, accountId: this.accountId },
      ...(role ? { role } : {}),
      auth,
    };
  }

  /**
   * Judges an S3 call; `storedPolicy` is the bucket policy set through the API (it replaces the
   * stack's for that bucket, as a deployment would).
   * @throws S3Error AccessDenied with S3's wording
   */
  authorizeS3(id: Identity, call: S3Call, req: IncomingMessage, storedPolicy?: PolicyStatement[]): void {
    if (id.root) return;
    for (const r of s3Requests(call)) {
      const bucket = /^arn:aws:s3:::([^/]+)/.exec(r.resource)?.[1];
      const resourcePolicy = bucket ? (storedPolicy ?? this.bucketPolicies.get(bucket) ?? []) : [];
      const denied = this.judge(id, r, req, resourcePolicy, 's3');
      if (denied) {
        if (!id.role) throw new S3Error('AccessDenied', 'Access Denied', 403);
        throw new S3Error('AccessDenied', `User: ${id.principal.sessionArn} is not authorized to perform: ${r.action} on resource: "${r.resource}" ${because(denied, r.action)}`, 403);
      }
    }
  }

  /**
   * Judges a Glue or Athena call.
   * @throws AwsJsonError AccessDeniedException with the services' wording
   */
  authorizeJson(
    id: Identity,
    service: 'glue' | 'athena',
    op: string,
    input: Record<string, unknown>,
    req: IncomingMessage,
    workGroupOf: (executionId: string) => string | undefined,
    /** The resources when the caller knows them better (Glue Schema Registry calls: registry and schema ARNs). */
    resources?: readonly string[],
  ): void {
    if (id.root) return;
    const requests = resources
      ? resources.map((resource) => ({ action: `${service}:${op}`, resource }))
      : service === 'glue'
        ? glueRequests(op, input, this.region, this.accountId)
        : athenaRequests(op, input, this.region, this.accountId, workGroupOf);
    for (const r of requests) {
      const denied = this.judge(id, r, req, [], service);
      if (denied) throw new AwsJsonError('AccessDeniedException', `User: ${id.principal.sessionArn} is not authorized to perform: ${r.action} on resource: ${r.resource} ${because(denied, r.action)}`);
    }
  }

  /** The deny reason of one request, or undefined when allowed. */
  private judge(id: Identity, r: ActionRequest, req: IncomingMessage, resourcePolicy: PolicyStatement[], service: Service): DenyReason | undefined {
    const now = Date.now();
    const context = new Map<string, string | string[]>(Object.entries(r.context ?? {}));
    const source = (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, '');
    context.set('aws:securetransport', 'true');
    context.set('aws:currenttime', new Date(now).toISOString());
    context.set('aws:epochtime', String(Math.floor(now / 1000)));
    context.set('aws:sourceip', source);
    context.set('aws:requestedregion', this.region);
    context.set('aws:principalaccount', this.accountId);
    context.set('aws:resourceaccount', this.accountId);
    if (id.principal.roleArn) context.set('aws:principalarn', id.principal.roleArn);
    if (id.role) {
      context.set('aws:principaltype', 'AssumedRole');
      context.set('aws:userid', `AROA${createHash('sha1').update(id.role.arn).digest('hex').slice(0, 17).toUpperCase()}:${SESSION}`);
    }
    if (service === 's3' && id.auth) {
      context.set('s3:authtype', id.auth.presigned ? 'REST-QUERY-STRING' : 'REST-HEADER');
      context.set('s3:signatureversion', 'AWS4-HMAC-SHA256');
      context.set('s3:signatureage', String(Math.max(0, now - parseAmzDate(id.auth.amzDate))));
      context.set('s3:resourceaccount', this.accountId);
    }
    const decision = evaluate(id.role?.statements ?? [], resourcePolicy, { action: r.action, resource: r.resource, context }, id.principal);
    return decision.allowed ? undefined : decision.reason;
  }
}

function because(reason: DenyReason, action: string): string {
  if (reason === 'identity-deny') return 'with an explicit deny in an identity-based policy';
  if (reason === 'resource-deny') return 'with an explicit deny in a resource-based policy';
  return `because no identity-based policy allows the ${action} action`;
}

/** The authentication errors of a wire protocol. */
interface AuthErrors {
  malformed(message: string, presigned: boolean): Error;
  unknownKey(accessKeyId: string): Error;
  wrongRegion(got: string, want: string): Error;
  mismatch(auth: SignedRequestAuth, toSign: string, canonical: string): Error;
  skewed(amzDate: string, now: number): Error;
}

/** The authentication errors of each wire protocol. */
function errorsFor(service: Service): AuthErrors {
  if (service === 's3') {
    return {
      malformed: (m: string, presigned: boolean) =>
        presigned ? new S3Error('AuthorizationQueryParametersError', m, 400) : new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${m}`, 400),
      unknownKey: (id: string) => new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', 403, { AWSAccessKeyId: id }),
      wrongRegion: (got: string, want: string) => new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${got}' is wrong; expecting '${want}'`, 400, { Region: want }),
      mismatch: (auth: SignedRequestAuth, toSign: string, canonical: string) =>
        new S3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided. Check your key and signing method.', 403, {
          AWSAccessKeyId: auth.accessKeyId, StringToSign: toSign, SignatureProvided: auth.signature, CanonicalRequest: canonical,
        }),
      skewed: (amzDate: string, now: number) =>
        new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', 403, {
          RequestTime: amzDate, ServerTime: new Date(now).toISOString(), MaxAllowedSkewMilliseconds: String(S3_MAX_SKEW_MS),
        }),
    };
  }
  return {
    malformed: (m: string) => new AwsJsonError('IncompleteSignatureException', m),
    unknownKey: () => new AwsJsonError('UnrecognizedClientException', 'The security token included in the request is invalid.'),
    wrongRegion: (got: string, want: string) => new AwsJsonError('InvalidSignatureException', `Credential should be scoped to a valid region, not '${got}'. Expected '${want}'.`),
    mismatch: () =>
      new AwsJsonError('InvalidSignatureException', 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.'),
    skewed: (amzDate: string, now: number) =>
      new AwsJsonError('InvalidSignatureException', `Signature expired: ${amzDate} is now earlier than ${new Date(now - JSON_MAX_SKEW_MS).toISOString().replace(/[-:]|\.\d{3}/g, '')} (${new Date(now).toISOString().replace(/[-:]|\.\d{3}/g, '')} - 5 min.)`),
  };
}
