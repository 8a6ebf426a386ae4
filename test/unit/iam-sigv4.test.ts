/**
 * SigV4 verification against AWS's own published examples (S3 "Signature Calculations for the
 * Authorization Header" and "Query String Authentication"), so the canonicalization is checked
 * against a source other than this code and the signers it is used with.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { canonicalRequest, MalformedAuthError, parseAuth, signature, stringToSign, uriEncode } from '../../lib/local/iam/sigv4';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const EMPTY_SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const request = (headers: Record<string, string>, method = 'GET') =>
  ({ method, headers, headersDistinct: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])) }) as unknown as IncomingMessage;

describe('SigV4 verification', () => {
  it("reproduces AWS's header-signature example (GET /test.txt with a Range)", () => {
    const req = request({
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': EMPTY_SHA,
      'x-amz-date': '20130524T000000Z',
      authorization:
        'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    });
    const auth = parseAuth(req, '')!;
    expect([auth.accessKeyId, auth.region, auth.service, auth.presigned]).toEqual(['AKIAIOSFODNN7EXAMPLE', 'us-east-1', 's3', false]);
    const canonical = canonicalRequest(auth, { method: 'GET', path: '/test.txt', rawQuery: '', headers: req.headersDistinct, payloadHash: EMPTY_SHA, s3: true });
    expect(canonical).toBe(
      `GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:${EMPTY_SHA}\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n${EMPTY_SHA}`,
    );
    expect(signature(auth, SECRET, stringToSign(auth, canonical))).toBe(auth.signature);
    expect(signature(auth, 'another secret', stringToSign(auth, canonical))).not.toBe(auth.signature);
  });

  it("reproduces AWS's presigned-URL example (X-Amz-Expires=86400)", () => {
    const rawQuery =
      'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404';
    const req = request({ host: 'examplebucket.s3.amazonaws.com' });
    const auth = parseAuth(req, rawQuery)!;
    expect([auth.presigned, auth.expires]).toEqual([true, 86400]);
    const canonical = canonicalRequest(auth, { method: 'GET', path: '/test.txt', rawQuery, headers: req.headersDistinct, payloadHash: 'UNSIGNED-PAYLOAD', s3: true });
    expect(signature(auth, SECRET, stringToSign(auth, canonical))).toBe(auth.signature);
  });

  it('canonicalizes what clients encode differently: key characters, query order, repeated spaces', () => {
    expect(uriEncode("a b+c~d/e!*'()")).toBe('a%20b%2Bc~d%2Fe%21%2A%27%28%29');
    const auth = { accessKeyId: 'k', scopeDate: '20260101', region: 'us-east-1', service: 's3', signedHeaders: ['host', 'x-amz-meta-note'], signature: '', amzDate: '20260101T000000Z', presigned: false };
    const c = canonicalRequest(auth, { method: 'PUT', path: '/b/dir%2Fnot/a%20b%21', rawQuery: 'uploadId=x%2By&partNumber=1&acl', headers: { host: ['h'], 'x-amz-meta-note': ['  two   spaces  '] }, payloadHash: 'UNSIGNED-PAYLOAD', s3: true });
    expect(c.split('\n').slice(0, 5)).toEqual(['PUT', '/b/dir%2Fnot/a%20b%21', 'acl=&partNumber=1&uploadId=x%2By', 'host:h', 'x-amz-meta-note:two spaces']);
  });

  it('reads an anonymous request as no auth, and refuses a malformed one with a reason', () => {
    expect(parseAuth(request({ host: 'h' }), '')).toBeUndefined();
    expect(() => parseAuth(request({ host: 'h', authorization: 'AWS4-HMAC-SHA256 Credential=x' }), '')).toThrow(MalformedAuthError);
    expect(() => parseAuth(request({ host: 'h', authorization: 'AWS AKID:sig' }), '')).toThrow(/Version 2/);
    expect(() => parseAuth(request({ host: 'h' }), 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&X-Amz-Signature=s')).toThrow(MalformedAuthError);
  });
});
