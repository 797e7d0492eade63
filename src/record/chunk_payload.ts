// SPDX-License-Identifier: MIT
//! A chunk frame's payload (src/record/format.ts) both ways: how a Worker
//! stores a chunk it records, and how a chunk it replays, or a tool that
//! reads a recording, gets the chunk's bytes back.
import { zstdDecompressSync } from "node:zlib";
import { firstLine } from "../runtime/errors";
import { framePayloadBytesMax } from "./format";

/** A chunk as a recording stores it (src/record/format.ts): zstd at `level`,
 *  or its bytes as they are at level 0 and where zstd does not shrink them,
 *  so that a stored payload as long as its chunk is never zstd. */
export function storedChunk(bytes: Uint8Array, level: number): Uint8Array {
  if (level > 0) {
    const data = Bun.zstdCompressSync(bytes, { level });
    if (data.length < bytes.length) return data;
  }
  return bytes.slice();
}

/** A recorded chunk's bytes, decompressed into no more than the size its
 *  frame declares (itself bounded): a hand-built frame must not make a Worker
 *  allocate gigabytes. They start on a word, as the decoder takes them. */
export function inflateChunk(stream: number, rawBytes: number, data: Uint8Array): Uint8Array {
  const damaged = (what: string) => new Error(`cannoli: recording damaged: a chunk of stream ${stream} ${what}`);
  if (!Number.isInteger(rawBytes) || rawBytes <= 0 || rawBytes > framePayloadBytesMax) throw damaged(`declares ${rawBytes} bytes`);
  let bytes = data;
  if (data.length !== rawBytes) {
    try {
      bytes = zstdDecompressSync(data, { maxOutputLength: rawBytes });
    } catch (error) {
      throw damaged(`does not inflate to the ${rawBytes} bytes its frame declares (${firstLine(error)})`);
    }
    if (bytes.length !== rawBytes) throw damaged(`inflates to ${bytes.length} bytes, its frame declares ${rawBytes}`);
  }
  return bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
}
