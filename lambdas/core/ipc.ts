/**
 * Arrow IPC stream writer for column buffers the loader already holds.
 *
 * parquet-wasm imports Arrow data only as an IPC stream (`Table.fromIPCStream`). Building
 * apache-arrow `Data`/`Table` objects and calling `tableToIPC` only to serialize buffers we
 * already have costs a visitor pass and two copies of every buffer; this writes the stream in one
 * allocation and one copy per buffer instead:
 *
 * ```
 * schema message | record batch message | body (buffers, each padded to 8 bytes) | end-of-stream
 * ```
 * A message is the continuation marker 0xFFFFFFFF, the int32 length of the (8-byte padded)
 * flatbuffer, and the flatbuffer. The flatbuffers themselves are encoded by apache-arrow's own
 * message encoder (cheap: a few dozen nodes and buffer regions), so the format stays arrow's.
 */
import type * as ArrowModule from 'apache-arrow';
import type * as ArrowMessageModule from 'apache-arrow/ipc/metadata/message';
import { LakeloaderError } from './errors';

let M: typeof ArrowMessageModule;
function load(): void {
  if (M === undefined) {
    M = require('apache-arrow/ipc/metadata/message') as typeof ArrowMessageModule;
  }
}

/** A record batch's layout breaks the IPC rules (a loader bug, never a bad record). */
export class IpcLayoutError extends LakeloaderError {
  readonly code = 'IPC_LAYOUT';
  constructor(message: string) {
    super(message);
  }
}

/**
 * The arrays of one record batch in IPC order (depth-first over the schema's fields): one field
 * node (length, null count) per array and its buffers, in the order the Arrow columnar format
 * gives for its type (validity first; an empty buffer stands for "no validity bitmap").
 */
export class IpcBatchParts {
  /** Interleaved (length, nullCount) per array. */
  readonly nodes: number[] = [];
  readonly buffers: Uint8Array[] = [];
  /** Adds one array's field node. */
  node(length: number, nullCount: number): void {
    this.nodes.push(length, nullCount);
  }
  /** Adds one buffer of the current array (`undefined`: absent, e.g. no validity bitmap). */
  buffer(bytes: Uint8Array | undefined): void {
    this.buffers.push(bytes ?? EMPTY);
  }
}
const EMPTY = new Uint8Array(0);

const pad8 = (n: number) => (n + 7) & ~7;

/** The framed (continuation marker + length + padded flatbuffer) bytes of an encoded message. */
function framed(flatbuffer: Uint8Array): Uint8Array {
  const size = pad8(8 + flatbuffer.byteLength);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setInt32(0, -1, true);
  view.setInt32(4, size - 8, true);
  out.set(flatbuffer, 8);
  return out;
}

/**
 * The framed schema message of an Arrow schema: the first message of every stream with that
 * schema (compute once per schema and reuse).
 */
export function schemaMessage(schema: ArrowModule.Schema): Uint8Array {
  load();
  return framed(M.Message.encode(M.Message.from(schema)));
}

/** Reused by {@link encodeIpcStream}'s `transient` mode; grows, never shrinks. */
let scratch = new Uint8Array(0);

/**
 * One complete Arrow IPC stream: `schemaMsg` (from {@link schemaMessage}), one record batch of
 * `rows` rows made of `parts`, and the end-of-stream marker.
 * @param transient when true, the bytes are written into a module-level buffer reused by the next
 *   call (no multi-megabyte allocation per file): for a consumer that copies them at once, such as
 *   parquet-wasm's `Table.fromIPCStream`. Otherwise a fresh array the caller owns.
 * @throws IpcLayoutError when `parts` has no nodes (a record batch always has ≥ 1 column).
 */
export function encodeIpcStream(schemaMsg: Uint8Array, rows: number, parts: IpcBatchParts, transient = false): Uint8Array {
  load();
  const { nodes, buffers } = parts;
  if (nodes.length === 0) throw new IpcLayoutError('a record batch needs at least one column');
  const fieldNodes: ArrowMessageModule.FieldNode[] = new Array(nodes.length / 2);
  for (let i = 0; i < fieldNodes.length; i++) fieldNodes[i] = new M.FieldNode(nodes[2 * i], nodes[2 * i + 1]);
  const regions: ArrowMessageModule.BufferRegion[] = new Array(buffers.length);
  let bodyLength = 0;
  for (let i = 0; i < buffers.length; i++) {
    const len = buffers[i].byteLength;
    regions[i] = new M.BufferRegion(bodyLength, len);
    bodyLength += pad8(len);
  }
  const header = new M.RecordBatch(rows, fieldNodes, regions, null);
  const batchMsg = framed(M.Message.encode(M.Message.from(header, bodyLength)));

  const total = schemaMsg.byteLength + batchMsg.byteLength + bodyLength + 8;
  let out: Uint8Array;
  if (transient) {
    if (scratch.byteLength < total) scratch = new Uint8Array(Math.max(total, Math.floor(scratch.byteLength * 1.5)));
    out = scratch.subarray(0, total);
  } else {
    out = new Uint8Array(total);
  }
  out.set(schemaMsg, 0);
  let pos = schemaMsg.byteLength;
  out.set(batchMsg, pos);
  pos += batchMsg.byteLength;
  for (let i = 0; i < buffers.length; i++) {
    const b = buffers[i];
    out.set(b, pos);
    const end = pos + b.byteLength;
    pos += pad8(b.byteLength);
    if (transient) out.fill(0, end, pos); // padding is zero (a fresh array already is)
  }
  // End of stream: continuation marker + zero length.
  out[pos] = 0xff;
  out[pos + 1] = 0xff;
  out[pos + 2] = 0xff;
  out[pos + 3] = 0xff;
  if (transient) out.fill(0, pos + 4, pos + 8);
  return out;
}
