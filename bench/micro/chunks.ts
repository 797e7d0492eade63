// SPDX-License-Identifier: MIT
//! Synthetic trace chunks in the wire format (zig-src/wire/records.zig), the
//! shape the server writes for a 32-bit guest: block-level encoding (one
//! block_def, then one `block_open` record per executed block followed by
//! its memory records, 4-byte accesses naming their instruction) or
//! per-instruction `exec` records.
import { Kind, countShift, memInsnShift, memSizeShiftBit, memStoreBit, recordWords1 } from "../../src/wire/records.generated";

export interface SyntheticChunk {
  words: Uint32Array;
  instructions: number;
  accesses: number;
}

const blockInsns = 16;
const basePc = 0x400000;

export function blockChunk(chunkBytes: number, memPerBlock: number): SyntheticChunk {
  const words: number[] = [Kind.block_def | (blockInsns << countShift), 7];
  for (let i = 0; i < blockInsns; i++) words.push(basePc + 4 * i);
  const limit = chunkBytes / 4;
  let instructions = 0;
  let accesses = 0;
  const memWords = 3; // head, address, a 4-byte value
  const blockWords = recordWords1.block_open + memPerBlock * memWords;
  while (words.length + blockWords <= limit) {
    words.push(Kind.block_open | (blockInsns << countShift), 7);
    for (let m = 0; m < memPerBlock; m++) {
      const store = m % 2;
      const insn = Math.floor((m * blockInsns) / memPerBlock);
      words.push(Kind.mem | (2 << memSizeShiftBit) | (store << memStoreBit) | (insn << memInsnShift), 0x10000 + 8 * accesses, accesses);
      accesses++;
    }
    instructions += blockInsns;
  }
  return { words: Uint32Array.from(words), instructions, accesses };
}

export function execChunk(chunkBytes: number): SyntheticChunk {
  const count = Math.floor(chunkBytes / 4 / recordWords1.exec);
  const words = new Uint32Array(count * recordWords1.exec);
  for (let i = 0; i < count; i++) {
    words[2 * i] = Kind.exec;
    words[2 * i + 1] = basePc + 4 * (i % blockInsns);
  }
  return { words, instructions: count, accesses: 0 };
}
