// SPDX-License-Identifier: MIT
//! A recording's first chunks, inflated as replay inflates them
//! (src/record/chunk_payload.ts), for the micro benchmarks: of a recording
//! readable only in part, the chunks before the damage.
import { inflateChunk } from "../../src/record/chunk_payload";
import { FrameKind } from "../../src/record/format";
import { RecordingReader } from "../../src/record/RecordingReader";

export interface RecordingChunks {
  chunks: Uint8Array[];
  /** The guest's, from the first stream's handshake (8 if there is none). */
  pointerBytes: 4 | 8;
}

export function recordingChunks(path: string, chunksMax: number): RecordingChunks {
  const chunks: Uint8Array[] = [];
  let pointerBytes: 4 | 8 | undefined;
  try {
    for (const frame of new RecordingReader(path).frames()) {
      if (frame.kind === FrameKind.stream) pointerBytes ??= (JSON.parse(new TextDecoder().decode(frame.payload)) as { pointer_bytes?: 4 | 8 }).pointer_bytes;
      if (frame.kind !== FrameKind.chunk) continue;
      chunks.push(inflateChunk(frame.stream, frame.rawBytes, frame.payload));
      if (chunks.length >= chunksMax) break;
    }
  } catch {
    // A recording read only in part: the chunks before the damage.
  }
  return { chunks, pointerBytes: pointerBytes ?? 8 };
}
