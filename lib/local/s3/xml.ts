/**
 * S3's XML wire shapes: documents with the S3 namespace, the `<Error>` document, empty and XML
 * responses, and parsing of request documents (MalformedXML on anything else).
 */
import type { ServerResponse } from 'node:http';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { type S3Error, s3Errors } from '../errors';

export const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const builder = new XMLBuilder({ ignoreAttributes: false, suppressEmptyNode: false, processEntities: true });

/** Element names that are lists in the request documents the endpoint reads. */
const LIST_ELEMENTS = new Set(['Object', 'Part', 'Tag', 'Rule', 'CORSRule', 'AllowedMethod', 'AllowedOrigin', 'AllowedHeader', 'ExposeHeader', 'Grant']);
const parser = new XMLParser({ parseTagValue: false, ignoreAttributes: true, isArray: (name) => LIST_ELEMENTS.has(name), processEntities: true, removeNSPrefix: true });

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Escapes the text content of an XML element (quotes need no escaping there). */
export const escapeXml = (s: string) => s.replace(/[&<>]/g, (c) => XML_ESCAPES[c]!);

/** Serializes `{ ...body }` as an S3 XML document with root `rootName`. */
export function xml(rootName: string, body: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [rootName]: { '@_xmlns': XMLNS, ...body } })}`;
}

/**
 * Parses a request document and returns the content of its root element `root`.
 * @throws S3Error MalformedXML when the body is not XML or its root is another element
 */
export function parseXml<T = Record<string, unknown>>(body: string, root: string): T {
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(body, true) as Record<string, unknown>;
  } catch (e) {
    throw s3Errors.malformedXml((e as Error).message);
  }
  const content = doc[root];
  if (content === undefined) throw s3Errors.malformedXml(`expected the root element <${root}>`);
  return (content === '' ? {} : content) as T;
}

/** Sends an XML body. */
export function sendXml(res: ServerResponse, status: number, body: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/xml');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/** Sends an empty body. */
export function sendEmpty(res: ServerResponse, status: number): void {
  res.statusCode = status;
  res.setHeader('Content-Length', 0);
  res.end();
}

/** Renders an S3Error as S3's XML error document (no body for HEAD and 304). */
export function sendS3Error(res: ServerResponse, err: S3Error, method: string, resource: string, requestId: string): void {
  res.statusCode = err.status;
  res.setHeader('x-amz-request-id', requestId);
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  if (method === 'HEAD' || err.status === 304) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', 'application/xml');
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({
      Error: { Code: err.code, Message: err.message, ...err.extra, Resource: resource, RequestId: requestId },
    })}`,
  );
}

/** The text of an element that may be absent, a string, or (with attributes ignored) an object. */
export const text = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? '' : String(v));
