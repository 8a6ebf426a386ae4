/**
 * AWS Signature Version 4, checked the way AWS checks it: the server rebuilds the canonical
 * request from what it received — method, path, query, the headers the client says it signed,
 * the payload hash — derives the signing key from the secret it holds for the access key, and
 * compares signatures. Both forms: the `Authorization` header and the presigned query
 * (`X-Amz-Signature`, with `X-Amz-Expires`).
 *
 * A signing library cannot do this: it chooses which headers to sign, while a verifier must
 * use exactly the client's `SignedHeaders`. The algorithm itself is a few HMACs (node:crypto).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** What the request says about its signature. */
export interface SignedRequestAuth {
  accessKeyId: string;
  /** `YYYYMMDD` of the credential scope. */
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  /** `YYYYMMDDTHHMMSSZ` of the request. */
  amzDate: string;
  /** Presigned (query) rather than header. */
  presigned: boolean;
  /** Presigned: seconds the signature is valid. */
  expires?: number;
  sessionToken?: string;
}

/** A request whose auth cannot even be parsed (AWS: AuthorizationHeaderMalformed / AuthorizationQueryParametersError). */
export class MalformedAuthError extends Error {
  constructor(
    message: string,
    readonly presigned: boolean,
  ) {
    super(message);
    this.name = 'MalformedAuthError';
  }
}

const ALGORITHM = 'AWS4-HMAC-SHA256';

/** RFC 3986 encoding as SigV4 wants it: unreserved characters kept, everything else %XX (upper case). */
export function uriEncode(s: string, keepSlash = false): string {
  let out = '';
  for (const ch of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(ch);
    if ((ch >= 0x41 && ch <= 0x5a) || (ch >= 0x61 && ch <= 0x7a) || (ch >= 0x30 && ch <= 0x39) || c === '-' || c === '_' || c === '.' || c === '~' || (keepSlash && c === '/')) out += c;
    else out += `%${ch.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const safeDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};

/** The raw query split into decoded name/value pairs (order kept; `+` is a literal plus). */
export function queryPairs(rawQuery: string): Array<[string, string]> {
  if (!rawQuery) return [];
  return rawQuery.split('&').filter(Boolean).map((p) => {
    const i = p.indexOf('=');
    return i < 0 ? [safeDecode(p), ''] : [safeDecode(p.slice(0, i)), safeDecode(p.slice(i + 1))];
  });
}

/**
 * Reads the signature of a request: the `Authorization` header, or the presigned query.
 * @returns undefined for an anonymous request (neither present)
 * @throws MalformedAuthError for a malformed header or query
 */
export function parseAuth(req: IncomingMessage, rawQuery: string): SignedRequestAuth | undefined {
  const header = req.headers.authorization;
  if (header) {
    if (!header.startsWith(`${ALGORITHM} `)) {
      if (header.startsWith('AWS ')) throw new MalformedAuthError('Signature Version 2 is not supported by the local endpoint under --enforce-iam; sign with Signature Version 4', false);
      throw new MalformedAuthError(`Unsupported Authorization Type "${header.split(' ')[0]}"`, false);
    }
    const fields = Object.fromEntries(
      header.slice(ALGORITHM.length + 1).split(',').map((f) => {
        const i = f.indexOf('=');
        return [f.slice(0, i).trim(), f.slice(i + 1).trim()];
      }),
    ) as Record<string, string>;
    const { Credential: credential, SignedHeaders: signedHeaders, Signature: signature } = fields;
    if (!credential || !signedHeaders || !signature) throw new MalformedAuthError('The authorization header is malformed; it must carry Credential, SignedHeaders and Signature', false);
    const amzDate = String(req.headers['x-amz-date'] ?? '') || isoFromHttpDate(String(req.headers.date ?? ''));
    if (!amzDate) throw new MalformedAuthError('The request needs an X-Amz-Date or Date header', false);
    return {
      ...scope(credential, false),
      signedHeaders: signedHeaders.split(';'),
      signature,
      amzDate,
      presigned: false,
      ...(typeof req.headers['x-amz-security-token'] === 'string' ? { sessionToken: req.headers['x-amz-security-token'] } : {}),
    };
  }
  const q = new Map(queryPairs(rawQuery));
  if (!q.has('X-Amz-Signature') && !q.has('X-Amz-Credential')) return undefined;
  if (q.get('X-Amz-Algorithm') !== ALGORITHM) throw new MalformedAuthError(`X-Amz-Algorithm only supports "${ALGORITHM}"`, true);
  const credential = q.get('X-Amz-Credential');
  const signedHeaders = q.get('X-Amz-SignedHeaders');
  const signature = q.get('X-Amz-Signature');
  const amzDate = q.get('X-Amz-Date');
  const expires = Number(q.get('X-Amz-Expires'));
  if (!credential || !signedHeaders || !signature || !amzDate) {
    throw new MalformedAuthError('Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.', true);
  }
  if (!Number.isInteger(expires) || expires < 1 || expires > 604_800) throw new MalformedAuthError('X-Amz-Expires must be between 1 and 604800 seconds', true);
  return {
    ...scope(credential, true),
    signedHeaders: signedHeaders.split(';'),
    signature,
    amzDate,
    presigned: true,
    expires,
    ...(q.get('X-Amz-Security-Token') ? { sessionToken: q.get('X-Amz-Security-Token')! } : {}),
  };
}

function scope(credential: string, presigned: boolean) {
  const parts = credential.split('/');
  if (parts.length < 5 || parts[parts.length - 1] !== 'aws4_request') {
    throw new MalformedAuthError(`The credential "${credential}" is malformed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`, presigned);
  }
  const [service, region, scopeDate] = parts.slice(-4, -1).reverse() as [string, string, string];
  return { accessKeyId: parts.slice(0, -4).join('/'), scopeDate, region, service };
}

/** `Date` header (RFC 1123) → `YYYYMMDDTHHMMSSZ`, or '' when unparsable. */
function isoFromHttpDate(d: string): string {
  const t = Date.parse(d);
  return Number.isNaN(t) ? '' : amzDateOf(t);
}

/** Epoch ms → `YYYYMMDDTHHMMSSZ`. */
export const amzDateOf = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** `YYYYMMDDTHHMMSSZ` → epoch ms (NaN when malformed). */
export function parseAmzDate(s: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!) : Number.NaN;
}

/** The pieces of the canonical request that come from the HTTP request. */
export interface CanonicalInput {
  method: string;
  /** Raw request path (percent-encoded as sent). */
  path: string;
  rawQuery: string;
  /** Header values by lower-case name (repeated headers as arrays). */
  headers: Record<string, string | string[] | undefined>;
  /** Hex SHA-256 of the payload, or `UNSIGNED-PAYLOAD` / `STREAMING-…`. */
  payloadHash: string;
  /** S3 signs the path once-encoded and unnormalized; other services encode it twice. */
  s3: boolean;
}

/** The canonical request (SigV4 step 1). */
export function canonicalRequest(auth: SignedRequestAuth, c: CanonicalInput): string {
  const segments = c.path.split('/').map(safeDecode);
  const canonicalPath = c.s3 ? segments.map((s) => uriEncode(s)).join('/') : segments.map((s) => uriEncode(uriEncode(s))).join('/');
  const query = queryPairs(c.rawQuery)
    .filter(([k]) => !(auth.presigned && k === 'X-Amz-Signature'))
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headers = auth.signedHeaders
    .map((h) => {
      const v = c.headers[h];
      const values = v === undefined ? [] : Array.isArray(v) ? v : [v];
      return `${h}:${values.map((x) => x.trim().replace(/\s+/g, ' ')).join(',')}\n`;
    })
    .join('');
  return [c.method, canonicalPath || '/', query, headers, auth.signedHeaders.join(';'), c.payloadHash].join('\n');
}

/** The string to sign (SigV4 step 2). */
export function stringToSign(auth: SignedRequestAuth, canonical: string): string {
  return [ALGORITHM, auth.amzDate, `${auth.scopeDate}/${auth.region}/${auth.service}/aws4_request`, createHash('sha256').update(canonical).digest('hex')].join('\n');
}

/** The signature of `toSign` with the key derived from `secret` (SigV4 steps 3–4). */
export function signature(auth: Pick<SignedRequestAuth, 'scopeDate' | 'region' | 'service'>, secret: string, toSign: string): string {
  const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, auth.scopeDate), auth.region), auth.service), 'aws4_request');
  return createHmac('sha256', key).update(toSign).digest('hex');
}

/** Constant-time comparison of two hex signatures. */
export function signaturesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
