/**
 * Test helpers for the embedded broker's conformance suite: kafkajs codecs for snappy, lz4 and
 * zstd (kafkajs ships only gzip), a raw socket client that sends hand-made frames (for hostile
 * input and protocol corner cases), and whether kcat (librdkafka) is installed.
 */
import { spawnSync } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { crc32c, lz4Compress, lz4Decompress, snappyCompress, snappyDecompress } from '@platformatic/wasm-utils';
import { compress as zstdCompress, decompress as zstdDecompress, init as zstdInit } from '@bokuweb/zstd-wasm';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';

let codecsReady: Promise<void> | null = null;

/** Registers snappy (raw), lz4 (frame) and zstd codecs with kafkajs (idempotent). */
export function registerKafkajsCodecs(): Promise<void> {
  codecsReady ??= (async () => {
    await zstdInit();
    const codec = (c: (b: Buffer) => Uint8Array, d: (b: Buffer) => Uint8Array) => () => ({
      compress: async (encoder: { buffer: Buffer }) => Buffer.from(c(encoder.buffer)),
      decompress: async (buffer: Buffer) => Buffer.from(d(buffer)),
    });
    CompressionCodecs[CompressionTypes.Snappy] = codec(snappyCompress, snappyDecompress);
    CompressionCodecs[CompressionTypes.LZ4] = codec(lz4Compress, lz4Decompress);
    CompressionCodecs[CompressionTypes.ZSTD] = codec((b) => zstdCompress(b, 3), (b) => zstdDecompress(b));
  })();
  return codecsReady;
}

/** True when the kcat binary (librdkafka's CLI) runs. */
export function hasKcat(): boolean {
  return !spawnSync('kcat', ['-V'], { stdio: 'ignore' }).error;
}

/** A raw connection: send a frame, read whole response frames. */
export class RawKafka {
  private buf = Buffer.alloc(0);
  private waiters: ((f: Buffer) => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readInt32BE(0)) {
        const size = this.buf.readInt32BE(0);
        const frame = this.buf.subarray(4, 4 + size);
        this.buf = this.buf.subarray(4 + size);
        this.waiters.shift()?.(frame);
      }
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static open(bootstrap: string): Promise<RawKafka> {
    const [host, port] = bootstrap.split(':');
    return new Promise((resolve, reject) => {
      const s = connect(Number(port), host!, () => resolve(new RawKafka(s)));
      s.once('error', reject);
    });
  }

  /** Sends raw bytes (a whole frame, size included). */
  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends a request with header v1 (non-flexible) and the given body; resolves with the response frame. */
  request(apiKey: number, apiVersion: number, correlationId: number, body: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    const clientId = Buffer.from('raw-test');
    const header = Buffer.alloc(10);
    header.writeInt16BE(apiKey, 0);
    header.writeInt16BE(apiVersion, 2);
    header.writeInt32BE(correlationId, 4);
    header.writeInt16BE(clientId.length, 8);
    const payload = Buffer.concat([header, clientId, body]);
    const size = Buffer.alloc(4);
    size.writeInt32BE(payload.length, 0);
    const response = this.next();
    this.write(Buffer.concat([size, payload]));
    return response;
  }

  /** The next response frame (without its size), or a rejection after `ms`. */
  next(ms = 5000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no response within ${ms} ms`)), ms);
      this.waiters.push((f) => {
        clearTimeout(timer);
        resolve(f);
      });
    });
  }

  /** Resolves true when the broker closes the connection within `ms`. */
  closedWithin(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

const zigzag = (n: number) => (n >= 0 ? n * 2 : -n * 2 - 1);
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = zigzag(n);
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}

/**
 * A record batch v2 written by hand from the format's documentation (uncompressed), for corner
 * cases real clients never send: a chosen producer id and sequence, or a wrong CRC.
 */
export function handMadeBatch(values: string[], opts: { producerId?: bigint; producerEpoch?: number; baseSequence?: number; timestamp?: number; corruptCrc?: boolean } = {}): Buffer {
  const ts = BigInt(opts.timestamp ?? 1_700_000_000_000);
  const records = values.map((v, i) => {
    const value = Buffer.from(v);
    const body = Buffer.concat([Buffer.from([0]), varint(0), varint(i), varint(-1), varint(value.length), value, varint(0)]);
    return Buffer.concat([varint(body.length), body]);
  });
  const afterCrc = Buffer.alloc(40);
  afterCrc.writeInt16BE(0, 0); // attributes
  afterCrc.writeInt32BE(values.length - 1, 2);
  afterCrc.writeBigInt64BE(ts, 6);
  afterCrc.writeBigInt64BE(ts, 14);
  afterCrc.writeBigInt64BE(opts.producerId ?? -1n, 22);
  afterCrc.writeInt16BE(opts.producerEpoch ?? -1, 30);
  afterCrc.writeInt32BE(opts.baseSequence ?? -1, 32);
  afterCrc.writeInt32BE(values.length, 36);
  const tail = Buffer.concat([afterCrc, ...records]);
  const head = Buffer.alloc(21);
  head.writeBigInt64BE(0n, 0);
  head.writeInt32BE(9 + tail.length, 8); // partitionLeaderEpoch + magic + crc + tail
  head.writeInt32BE(-1, 12);
  head.writeInt8(2, 16);
  head.writeUInt32BE((crc32c(tail) ^ (opts.corruptCrc ? 1 : 0)) >>> 0, 17);
  return Buffer.concat([head, tail]);
}

/** A Produce v3 request body (acks -1) for one partition. */
export function produceV3Body(topic: string, partition: number, batch: Buffer): Buffer {
  const name = Buffer.from(topic);
  const b = Buffer.alloc(2 + 2 + 4 + 4 + 2 + name.length + 4 + 4 + 4);
  let o = 0;
  o = b.writeInt16BE(-1, o); // transactional id: null
  o = b.writeInt16BE(-1, o); // acks = all
  o = b.writeInt32BE(5000, o);
  o = b.writeInt32BE(1, o);
  o = b.writeInt16BE(name.length, o);
  o += name.copy(b, o);
  o = b.writeInt32BE(1, o);
  o = b.writeInt32BE(partition, o);
  b.writeInt32BE(batch.length, o);
  return Buffer.concat([b, batch]);
}

/** Reads a Produce v3 response for one partition: error code and base offset. */
export function readProduceV3(frame: Buffer): { correlationId: number; errorCode: number; baseOffset: bigint } {
  let o = 4; // correlation id
  o += 4; // topics count
  o += 2 + frame.readInt16BE(o); // topic name
  o += 4; // partitions count
  o += 4; // partition index
  const errorCode = frame.readInt16BE(o);
  return { correlationId: frame.readInt32BE(0), errorCode, baseOffset: frame.readBigInt64BE(o + 2) };
}
