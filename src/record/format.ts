// SPDX-License-Identifier: MIT
//! The recording file (`cannoli record -o run.cnl`): the raw stream of every
//! guest thread — its handshake and every chunk exactly as the server wrote
//! it, zstd-compressed where that shrinks it — so any tracer can run on it
//! later through the same decoder as a live run.
//!
//!   file   = "CNLREC01" frame* [index frame] [footer]
//!   frame  = header (32 bytes, little-endian) + stored payload
//!     u32 magic "CNLF" | u8 kind | u8 0 | u16 0 | u32 stream | u32 raw_bytes
//!     u32 stored_bytes | u32 crc32(stored payload) | u64 ticket
//!   kinds  = 1 stream (payload: handshake JSON, stored raw)
//!            2 chunk (payload: zstd of the chunk's bytes, or the bytes as
//!              they are when stored_bytes = raw_bytes: `record --level 0`,
//!              or where zstd would not shrink them; ticket = sequence)
//!            3 end (payload: JSON summary of the stream's end)
//!            4 index (payload: u64 offset of every earlier frame)
//!   footer = u64 offset of the index frame + "CNLIDX01"
//!
//! Frames are self-checking (magic, sizes, CRC), so a reader walks them in
//! order without the index and stops at the first damaged one, naming its
//! offset; everything before it stays usable.

export const fileMagic = "CNLREC01";
export const footerMagic = "CNLIDX01";
export const frameMagic = 0x464c4e43; // "CNLF"
export const frameHeaderBytes = 32;
export const footerBytes = 16;
/** Bounds what a reader will allocate for one frame. */
export const framePayloadBytesMax = 64 << 20;
/** `record --level`: zstd's levels, 0 to store chunks as they are. */
export const recordLevelMax = 19;
/** zstd level 1: the fastest that still shrinks chunks ~8x (BENCHMARKS.md). */
export const recordLevelDefault = 1;

/** The `end` frame of this stream id describes the whole run ({ exit_code }). */
export const runStream = 0xffffffff;

export const FrameKind = { stream: 1, chunk: 2, end: 3, index: 4 } as const;
export type FrameKindValue = (typeof FrameKind)[keyof typeof FrameKind];

export interface FrameHeader {
  kind: FrameKindValue;
  stream: number;
  rawBytes: number;
  storedBytes: number;
  crc32: number;
  ticket: number;
}

export function encodeFrameHeader(header: FrameHeader): Uint8Array {
  const bytes = new Uint8Array(frameHeaderBytes);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, frameMagic, true);
  view.setUint8(4, header.kind);
  view.setUint32(8, header.stream, true);
  view.setUint32(12, header.rawBytes, true);
  view.setUint32(16, header.storedBytes, true);
  view.setUint32(20, header.crc32, true);
  view.setBigUint64(24, BigInt(header.ticket), true);
  return bytes;
}

export class RecordingError extends Error {}

/** Decodes and checks a frame header read at `offset` of the file. */
export function decodeFrameHeader(bytes: Uint8Array, offset: number): FrameHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, frameHeaderBytes);
  if (view.getUint32(0, true) !== frameMagic) throw new RecordingError(`cannoli: recording damaged at offset ${offset}: no frame there`);
  const kind = view.getUint8(4);
  if (kind < FrameKind.stream || kind > FrameKind.index) throw new RecordingError(`cannoli: recording damaged at offset ${offset}: unknown frame kind ${kind}`);
  const storedBytes = view.getUint32(16, true);
  const rawBytes = view.getUint32(12, true);
  if (storedBytes > framePayloadBytesMax || rawBytes > framePayloadBytesMax) {
    throw new RecordingError(`cannoli: recording damaged at offset ${offset}: frame of ${storedBytes} bytes`);
  }
  return {
    kind: kind as FrameKindValue,
    stream: view.getUint32(8, true),
    rawBytes,
    storedBytes,
    crc32: view.getUint32(20, true),
    ticket: Number(view.getBigUint64(24, true)),
  };
}
