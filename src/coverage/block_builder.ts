// SPDX-License-Identifier: MIT
//! Turns one guest thread's first-executed PCs (the `--once` stream) into
//! coverage blocks.
//!
//! With `--once` the stream holds each instruction once, when it first runs,
//! and no block boundaries. Instructions that ran for the first time one
//! right after the other, each starting where the previous one ended, are
//! taken as one straight-line block; any other step (a taken branch, a
//! call, a return, code that had run before) starts a new one. Where the
//! exec records carry each instruction's size (the plugin backend) blocks
//! are exact on every ISA. Without sizes (the patched backend) "where the
//! previous one ended" is approximated: 0 < pc − previous pc ≤ the largest
//! instruction, and a block ends at its last PC plus the smallest
//! instruction (exact on fixed-width ISAs; on x86 and RISC-V C a short
//! forward jump can glue two blocks with the skipped bytes in between).
//! Blocks can be longer than a compiler's basic blocks (a branch not taken
//! does not end one), which drcov consumers accept: every instruction in a
//! block ran. Blocks are split below 65536 bytes (drcov's u16 size).
//!
//! Input comes as runs [first pc, last pc, last pc's size or 0] already
//! grouped within a chunk by the Workers; runs that continue each other
//! across chunks are joined here.
import type { InsnBytes } from "./insn_bytes";

export const blockBytesMax = 0xffff;

/** A covered range of guest addresses: [start, start + bytes). */
export interface Block {
  readonly start: number;
  readonly bytes: number;
}

export class BlockBuilder {
  readonly #insn: InsnBytes;
  readonly #emit: (block: Block) => void;
  #start = -1;
  #last = -1;
  /** The last instruction's size (0: not known). */
  #lastBytes = 0;

  constructor(insn: InsnBytes, emit: (block: Block) => void) {
    this.#insn = insn;
    this.#emit = emit;
  }

  /** True when an instruction at `pc` can directly follow one at
   *  `previous` whose size is `previousBytes` (0: not known). */
  static follows(insn: InsnBytes, previous: number, previousBytes: number, pc: number): boolean {
    const gap = pc - previous;
    if (previousBytes > 0) return gap === previousBytes;
    return gap > 0 && gap <= insn.max && gap >= insn.min;
  }

  /** Adds the run of first executions from `first` to `last` (inclusive). */
  addRun(first: number, last: number, lastBytes: number): void {
    if (this.#start >= 0 && BlockBuilder.follows(this.#insn, this.#last, this.#lastBytes, first)) {
      this.#last = last;
      this.#lastBytes = lastBytes;
      return;
    }
    this.flush();
    this.#start = first;
    this.#last = last;
    this.#lastBytes = lastBytes;
  }

  /** Emits the open block, if any. */
  flush(): void {
    if (this.#start < 0) return;
    const end = this.#last + (this.#lastBytes || this.#insn.min);
    // Split on an instruction-size multiple, so pieces start on instructions
    // (exactly so on fixed-width ISAs).
    const piece = blockBytesMax - (blockBytesMax % this.#insn.min);
    for (let at = this.#start; at < end; at += piece) this.#emit({ start: at, bytes: Math.min(piece, end - at) });
    this.#start = -1;
    this.#last = -1;
    this.#lastBytes = 0;
  }
}
