// SPDX-License-Identifier: MIT
//! Walks one chunk's records (zig-src/wire/records.zig) in execution order.
//! Per-instruction `exec` records pass through as they are; a `block` record
//! (or a `block_open` record, with the records after it) expands into its
//! first `executed` instructions, with the records that happened inside the
//! block (memory accesses, placed after the instruction whose pc they carry;
//! syscalls, after the last) put back in order; see the ownership rules in
//! records.zig. The
//! producer is untrusted: every size, count and block id is checked, and a
//! bad one throws StreamCorruptError.
import { StreamCorruptError } from "../mempipe/PipeReader";
import { Kind, blockInsnsMax, countShift, pathBytesMax, recordWords1, recordWords2 } from "../wire/records.generated";

/** Called per event in execution order. `at` is the record's word offset
 *  (-1 for an instruction expanded from a block); `pc` is set for `exec`. */
export type Visit = (kind: number, at: number, pc: number) => void;

const two32 = 4294967296;

export function corrupt(message: string): never {
  throw new StreamCorruptError(`cannoli: corrupted stream: ${message}`);
}

export class RecordWalker {
  readonly wide: boolean;
  readonly sizes: typeof recordWords1 | typeof recordWords2;
  readonly #defs = new Map<number, number>();
  #pending = new Int32Array(256);

  constructor(pointerBytes: 4 | 8) {
    this.wide = pointerBytes === 8;
    this.sizes = this.wide ? recordWords2 : recordWords1;
  }

  addr(words: Uint32Array, at: number): number {
    return this.wide ? words[at]! + words[at + 1]! * two32 : words[at]!;
  }

  /** Words in the record at `at`, validated against the chunk's end. */
  sizeAt(words: Uint32Array, at: number): number {
    const head = words[at]!;
    const kind = head & 0xff;
    let size: number;
    switch (kind) {
      case Kind.exec:
        size = this.sizes.exec;
        break;
      case Kind.mem:
        size = this.sizes.mem;
        break;
      case Kind.syscall:
        size = this.sizes.syscall;
        break;
      case Kind.sysret:
        size = this.sizes.sysret;
        break;
      case Kind.exit:
        size = this.sizes.exit;
        break;
      case Kind.munmap:
        size = this.sizes.munmap;
        break;
      case Kind.block:
        size = this.sizes.block;
        break;
      case Kind.block_open:
        size = this.sizes.block_open;
        break;
      case Kind.fence:
        size = this.sizes.fence;
        break;
      case Kind.mmap: {
        const pathBytes = head >>> countShift;
        if (pathBytes > pathBytesMax) corrupt(`mmap path of ${pathBytes} bytes at word ${at}`);
        size = this.sizes.mmap + ((pathBytes + 3) >>> 2);
        break;
      }
      case Kind.block_def: {
        const insns = head >>> countShift;
        if (insns < 1 || insns > blockInsnsMax) corrupt(`block of ${insns} instructions at word ${at}`);
        size = this.sizes.block_def + insns * (this.wide ? 2 : 1);
        break;
      }
      default:
        corrupt(`unknown record kind ${kind} at word ${at}`);
    }
    if (at + size > words.length) corrupt(`record at word ${at} runs past the chunk`);
    return size;
  }

  /** The definition of block `id` in this chunk, checked against `executed`. */
  defOf(words: Uint32Array, at: number, defs: Map<number, number>): { def: number; executed: number } {
    const id = words[at + 1]!;
    const def = defs.get(id);
    if (def === undefined) corrupt(`block ${id} used at word ${at} without a definition in its chunk`);
    const executed = words[at]! >>> countShift;
    if (executed > words[def]! >>> countShift) corrupt(`block ${id} ran ${executed} instructions, more than it has`);
    return { def, executed };
  }

  /**
   * `visitBlock`, when given, takes a whole block that had no records inside
   * it (the common case) in one call — `def` is the word offset of its
   * definition, whose PCs start at `def + 2` — instead of one `visit` per
   * instruction: a column fill can then copy PCs in a tight loop.
   */
  walk(words: Uint32Array, visit: Visit, visitBlock?: (def: number, executed: number) => void): void {
    const defs = this.#defs;
    defs.clear();
    const aw = this.wide ? 2 : 1;
    let pendingCount = 0;
    const flush = () => {
      for (let p = 0; p < pendingCount; p++) visit(words[this.#pending[p]!]! & 0xff, this.#pending[p]!, 0);
      pendingCount = 0;
    };
    // A block's instructions with the pending records, which happened
    // inside it, put back in order.
    const expand = (def: number, executed: number) => {
      if (visitBlock && pendingCount === 0) {
        visitBlock(def, executed);
        return;
      }
      const pending = this.#pending;
      let p = 0;
      for (let i = 0; i < executed; i++) {
        const pc = this.addr(words, def + 2 + i * aw);
        visit(Kind.exec, -1, pc);
        while (p < pendingCount && (words[pending[p]!]! & 0xff) === Kind.mem && this.addr(words, pending[p]! + 1) === pc) {
          visit(Kind.mem, pending[p]!, 0);
          p++;
        }
      }
      for (; p < pendingCount; p++) visit(words[pending[p]!]! & 0xff, pending[p]!, 0);
      pendingCount = 0;
    };
    // Whether pending records follow an exec record (they are that
    // instruction's) or a block/fence record or the chunk's start (they are
    // the next block's).
    let afterExec = false;
    // A block_open record whose block still collects the records after it.
    let openDef = -1;
    let openExecuted = 0;
    const closeOpen = () => {
      if (openDef < 0) return;
      expand(openDef, openExecuted);
      openDef = -1;
    };
    let at = 0;
    while (at < words.length) {
      const size = this.sizeAt(words, at);
      const kind = words[at]! & 0xff;
      if (kind === Kind.exec) {
        closeOpen();
        flush();
        visit(Kind.exec, at, this.addr(words, at + 1));
        afterExec = true;
      } else if (kind === Kind.fence) {
        closeOpen();
        flush();
        afterExec = false;
      } else if (kind === Kind.block_def) {
        defs.set(words[at + 1]!, at);
      } else if (kind === Kind.block) {
        closeOpen();
        if (afterExec) flush();
        afterExec = false;
        const { def, executed } = this.defOf(words, at, defs);
        expand(def, executed);
      } else if (kind === Kind.block_open) {
        closeOpen();
        flush();
        afterExec = false;
        const { def, executed } = this.defOf(words, at, defs);
        openDef = def;
        openExecuted = executed;
      } else {
        if (pendingCount === this.#pending.length) {
          const grown = new Int32Array(this.#pending.length * 2);
          grown.set(this.#pending);
          this.#pending = grown;
        }
        this.#pending[pendingCount++] = at;
      }
      at += size;
    }
    closeOpen();
    flush();
  }
}
