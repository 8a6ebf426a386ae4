/**
 * The `aws-chunked` content encoding of streaming uploads:
 * `<hex-size>[;chunk-signature=…]\r\n<data>\r\n … 0\r\n<trailer>: <value>\r\n…\r\n`.
 * The decoder passes the data through and keeps the trailing headers (where the SDKs put
 * `x-amz-checksum-<algorithm>` when they compute the checksum while sending).
 */
import { Transform } from 'node:stream';
import { S3Error } from '../errors';

/** A decoding stream; `trailers` is filled once the stream has ended. */
export interface AwsChunkedDecoder extends Transform {
  readonly trailers: Record<string, string>;
}

/** A Transform that decodes an `aws-chunked` body and collects its trailers. */
export function decodeAwsChunked(): AwsChunkedDecoder {
  let buf: Buffer = Buffer.alloc(0);
  let remaining = -1; // bytes of data left in the current chunk; -1 = expecting a header
  let done = false;
  const trailers: Record<string, string> = {};
  const parseTrailers = () => {
    for (;;) {
      const nl = buf.indexOf('\r\n');
      if (nl < 0) return;
      const line = buf.subarray(0, nl).toString('latin1');
      buf = buf.subarray(nl + 2);
      if (line === '') continue;
      const colon = line.indexOf(':');
      if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  };
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      try {
        while (!done) {
          if (remaining < 0) {
            const nl = buf.indexOf('\r\n');
            if (nl < 0) break;
            const header = buf.subarray(0, nl).toString('latin1');
            buf = buf.subarray(nl + 2);
            if (header === '') continue; // CRLF after a chunk's data
            const size = parseInt(header.split(';')[0]!, 16);
            if (Number.isNaN(size)) throw new S3Error('IncompleteBody', `malformed aws-chunked body: chunk header "${header.slice(0, 40)}"`, 400);
            if (size === 0) {
              done = true;
              break;
            }
            remaining = size;
          } else {
            if (buf.length === 0) break;
            const take = Math.min(remaining, buf.length);
            this.push(buf.subarray(0, take));
            buf = buf.subarray(take);
            remaining -= take;
            if (remaining === 0) remaining = -1;
          }
        }
        if (done) parseTrailers();
        cb();
      } catch (e) {
        cb(e as Error);
      }
    },
    flush(cb) {
      if (!done) return cb(new S3Error('IncompleteBody', 'The aws-chunked body ended before its final zero-length chunk', 400));
      parseTrailers();
      cb();
    },
  });
  return Object.assign(t, { trailers });
}
