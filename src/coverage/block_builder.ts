// SPDX-License-Identifier: MIT
//! Turns one guest thread's first-executed PCs (the `--once` stream) into
//! coverage blocks.
//!
//! The approximation: with `--once` the stream holds each instruction once,
//! when it first runs, and no block boundaries. Instructions that ran for the
//! first time one right after the other, each starting where the previous
//! one could have ended (0 < pc − previous pc ≤ the architecture's largest
//! instruction), are taken as one straight-line block; any other step (a
//! taken branch, a call, a return, code that had run before) starts a new
//! one. A block ends at its last PC plus the smallest instruction size (4 on
//! fixed-width ISAs, so blocks are exact there; 2 on RISC-V C and Thumb; 1 on
//! x86). On variable-width ISAs a short forward jump (within the largest
//! instruction size) can glue two blocks together with the skipped bytes
//! in between. Blocks can be longer than a compiler's basic blocks (a branch
//! not taken does not end one), which drcov consumers accept: every
//! instruction in a block ran. Blocks are split below 65536 bytes (drcov's u16 size).
//!
//! Input comes as runs [first pc, last pc] already grouped within a chunk by
//! the Workers; runs that continue each other across chunks are joined here.
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

  constructor(insn: InsnBytes, emit: (block: Block) => void) {
    this.#insn = insn;
    this.#emit = emit;
  }

  /** True when an instruction at `pc` can directly follow one at `previous`. */
  static follows(insn: InsnBytes, previous: number, pc: number): boolean {
    const gap = pc - previous;
    return gap > 0 && gap <= insn.max && gap >= insn.min;
  }

  /** Adds the run of first executions from `first` to `last` (inclusive). */
  addRun(first: number, last: number): void {
    if (this.#start >= 0 && BlockBuilder.follows(this.#insn, this.#last, first)) {
      this.#last = last;
      return;
    }
    this.flush();
    this.#start = first;
    this.#last = last;
  }

  /** Emits the open block, if any. */
  flush(): void {
    if (this.#start < 0) return;
    const end = this.#last + this.#insn.min;
    // Split on an instruction-size multiple, so pieces start on instructions
    // (exactly so on fixed-width ISAs).
    const piece = blockBytesMax - (blockBytesMax % this.#insn.min);
    for (let at = this.#start; at < end; at += piece) this.#emit({ start: at, bytes: Math.min(piece, end - at) });
    this.#start = -1;
    this.#last = -1;
  }
}
