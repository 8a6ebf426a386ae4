/**
 * The embedded Kafka broker: one node that speaks the Kafka wire protocol on a TCP port, so that
 * real clients (kafkajs, @platformatic/kafka, librdkafka) produce and consume without a JVM, a
 * Docker engine or a system package. In the spirit of franz-go's `kfake`: a handful of files,
 * one per request family (`apis/`), each answering with the protocol's own error codes.
 *
 * - Requests on one connection are handled one at a time and answered in order, as Kafka does
 *   (a long-polling Fetch holds that connection only).
 * - An API it does not implement is left out of ApiVersions; asked anyway, or with a version out
 *   of range, it answers UNSUPPORTED_VERSION (ApiVersions itself answers in v0 form with the list,
 *   per KIP-511) and keeps the connection. A frame whose size is negative or above
 *   `maxRequestBytes` cannot be read and closes the connection, as Kafka's socket server does;
 *   the broker keeps serving everyone else.
 * - With a data directory, topics, records, producer ids and committed group offsets persist.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { ALL_APIS } from './apis';
import { apiKeys } from './apis/metadata';
import type { ApiDefinition, BrokerState } from './apis/types';
import { ErrorCode, errorName } from './errors';
import { GroupCoordinator } from './groups';
import { TopicStore, type Topic } from './log';
import { decodeMessage, encodeMessage, ProtocolError, Reader, readRequestHeader, skipTaggedFields, Writer } from './protocol';

export interface KafkaBrokerOptions {
  /** Port to listen on; 0 picks a free one. @default 9092 */
  port?: number;
  /** Interface to listen on. @default '127.0.0.1' */
  host?: string;
  /** Host name given to clients in Metadata and FindCoordinator. @default the listen host ('127.0.0.1' for 0.0.0.0) */
  advertisedHost?: string;
  /** Where topics, records and group offsets persist; omit to keep everything in memory. */
  dataDir?: string;
  /** Partitions of an auto-created topic (Kafka's num.partitions). @default 1 */
  partitions?: number;
  /** Create topics on first Metadata or Produce (Kafka's auto.create.topics.enable). @default true */
  autoCreateTopics?: boolean;
  /** Largest request frame (Kafka's socket.request.max.bytes). @default 104857600 */
  maxRequestBytes?: number;
  /** How long a new consumer group waits for more members (group.initial.rebalance.delay.ms). @default 100 */
  initialRebalanceDelayMs?: number;
  /** Diagnostics (refused frames, handler failures). @default none */
  log?: (message: string) => void;
}

/** A running embedded broker. */
export interface KafkaBroker {
  /** `host:port` to give clients as the bootstrap server. */
  readonly bootstrap: string;
  readonly host: string;
  readonly port: number;
  /** The broker's topics (for tests and tools in the same process). */
  readonly state: BrokerState;
  /** Requests answered so far, by API name (unsupported ones under `unsupported`) and by `API@clientId`. */
  readonly requests: Readonly<Record<string, number>>;
  /** Stops listening, closes every connection and the log files. Idempotent. */
  stop(): Promise<void>;
}

function frame(correlationId: number, flexibleHeader: boolean, body: Writer | null, errorCode?: number): Buffer[] {
  const head = new Writer();
  head.int32(0).int32(correlationId);
  if (flexibleHeader) head.uvarint(0);
  if (errorCode !== undefined) head.int16(errorCode);
  const chunks = [...head.toChunks(), ...(body ? body.toChunks() : [])];
  const size = chunks.reduce((n, c) => n + c.length, 0) - 4;
  chunks[0]!.writeInt32BE(size, 0);
  return chunks;
}

/** Starts an embedded broker. */
export async function startKafkaBroker(opts: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const host = opts.host ?? '127.0.0.1';
  const advertised = opts.advertisedHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host);
  const maxRequestBytes = opts.maxRequestBytes ?? 104_857_600;
  const log = opts.log ?? (() => undefined);
  const dir = opts.dataDir ?? null;
  if (dir) mkdirSync(dir, { recursive: true });
  const topics = new TopicStore(dir && join(dir, 'topics'));
  topics.sweep();
  const groups = new GroupCoordinator({ dir: dir && join(dir, 'groups'), initialRebalanceDelayMs: opts.initialRebalanceDelayMs });
  const partitions = opts.partitions ?? 1;
  const autoCreateTopics = opts.autoCreateTopics ?? true;
  const apis = ALL_APIS;
  const byKey = new Map<number, ApiDefinition>(apis.map((a) => [a.key, a]));
  const state: BrokerState = {
    nodeId: 0,
    host: advertised,
    port: 0,
    clusterId: 'lakeloader-local-kafka',
    topics,
    groups,
    defaultPartitions: partitions,
    autoCreateTopics,
    apis,
    autoCreate(name: string): Topic | undefined {
      if (!autoCreateTopics) return undefined;
      return topics.get(name) ?? topics.create(name, partitions) ?? undefined;
    },
  };

  const requests: Record<string, number> = {};
  const count = (name: string) => void (requests[name] = (requests[name] ?? 0) + 1);

  async function handle(socket: Socket, buf: Buffer): Promise<Buffer[] | null> {
    const r = new Reader(buf);
    let header;
    try {
      header = readRequestHeader(r);
    } catch {
      log(`kafka: closing ${socket.remoteAddress}: a ${buf.length}-byte request has no readable header`);
      socket.destroy();
      return null;
    }
    const api = byKey.get(header.apiKey);
    if (!api || header.apiVersion < api.minVersion || header.apiVersion > api.maxVersion) {
      count('unsupported');
      log(`kafka: ${api ? `${api.name} v${header.apiVersion} is outside v${api.minVersion}-${api.maxVersion}` : `API key ${header.apiKey} is not implemented`} (client ${header.clientId})`);
      if (header.apiKey === 18) {
        // KIP-511: answer an ApiVersions we cannot parse in v0 form, with the versions we do have.
        const w = new Writer();
        encodeMessage(w, byKey.get(18)!.response, { ErrorCode: ErrorCode.UNSUPPORTED_VERSION, ApiKeys: apiKeys({ broker: state }) }, 0);
        return frame(header.correlationId, false, w);
      }
      return frame(header.correlationId, false, null, ErrorCode.UNSUPPORTED_VERSION);
    }
    count(api.name);
    count(`${api.name}@${header.clientId ?? ''}`);
    const flexible = header.apiVersion >= api.request.flexibleFrom;
    const responseHeaderFlexible = header.apiVersion >= api.response.flexibleFrom && api.key !== 18;
    let req;
    try {
      if (flexible) skipTaggedFields(r);
      req = decodeMessage(r, api.request, header.apiVersion);
    } catch (e) {
      log(`kafka: ${api.name} v${header.apiVersion} from ${header.clientId}: ${(e as Error).message}`);
      return frame(header.correlationId, responseHeaderFlexible, null, ErrorCode.INVALID_REQUEST);
    }
    try {
      const res = await api.handle(req, { broker: state, version: header.apiVersion, clientId: header.clientId ?? '', clientHost: socket.remoteAddress ?? '' });
      if (res === null) return null;
      const w = new Writer();
      encodeMessage(w, api.response, res, header.apiVersion);
      return frame(header.correlationId, responseHeaderFlexible, w);
    } catch (e) {
      log(`kafka: ${api.name} v${header.apiVersion} failed: ${(e as Error).stack ?? e}`);
      return frame(header.correlationId, responseHeaderFlexible, null, -1 /* UNKNOWN_SERVER_ERROR */);
    }
  }

  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const queue: Buffer[] = [];
    let busy = false;
    const drain = async () => {
      if (busy) return;
      busy = true;
      while (queue.length && !socket.destroyed) {
        const out = await handle(socket, queue.shift()!);
        if (out && !socket.destroyed) socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      }
      busy = false;
    };
    socket.on('data', (chunk: Buffer) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
      let buf = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      let pos = 0;
      while (buf.length - pos >= 4) {
        const size = buf.readInt32BE(pos);
        if (size < 0 || size > maxRequestBytes) {
          log(`kafka: closing ${socket.remoteAddress}: request size ${size} is outside 0..${maxRequestBytes} (socket.request.max.bytes)`);
          socket.destroy();
          return;
        }
        if (buf.length - pos - 4 < size) break;
        queue.push(buf.subarray(pos + 4, pos + 4 + size));
        pos += 4 + size;
      }
      buf = buf.subarray(pos);
      pending = buf.length ? [buf] : [];
      pendingBytes = buf.length;
      void drain().catch((e: unknown) => {
        log(`kafka: connection failed: ${(e as Error).message}`);
        socket.destroy();
      });
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 9092, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as { port: number }).port;
  state.port = port;
  let stopped: Promise<void> | null = null;
  return {
    bootstrap: `${advertised}:${port}`,
    host: advertised,
    port,
    state,
    requests,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        groups.close();
        topics.close();
      });
      return stopped;
    },
  };
}

export { ErrorCode, errorName, ProtocolError };
