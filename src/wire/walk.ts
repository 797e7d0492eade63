// SPDX-License-Identifier: MIT
//! The reference decoder: walks one chunk's records (zig-src/wire/records.zig)
//! in execution order. Records are owned forward: an `exec` record is one
//! instruction, a `block_open` record its block's first `executed`
//! instructions, and the records after either belong to it — a memory
//! access goes right after the instruction it names (its index in the
//! block), anything else after the block's last instruction. The native
//! decoder (zig-src/wire/BatchDecoder.zig) is the fast path of this walk;
//! tests hold the two equal. The producer is untrusted: every size, count,
//! block id and instruction index is checked, and a bad one throws
//! StreamCorruptError.
import { StreamCorruptError } from "./StreamCorruptError";
import { Kind, blockInsnsMax, countShift, memInsnMask, memInsnShift, memNoValueBit, memSizeShiftBit, pathBytesMax, recordWords1, recordWords2 } from "./records.generated";

/** Called per record in execution order (block_def aside; a block_open
 *  before its instructions). `at` is the record's word offset (-1 for an
 *  instruction expanded from a block); `pc` is the instruction's for
 *  `exec`, the accessing instruction's for `mem`. */
export type Visit = (kind: number, at: number, pc: number) => void;

const two32 = 4294967296;

export function corrupt(message: string): never {
  throw new StreamCorruptError(`cannoli: corrupted stream: ${message}`);
}

/** Value words of the memory record whose head is `head` (records.zig memValueWords). */
export function memValueWords(head: number): number {
  if ((head >>> memNoValueBit) & 1) return 0;
  return ((head >>> memSizeShiftBit) & 7) <= 2 ? 1 : 2;
}

export class RecordWalker {
  readonly wide: boolean;
  readonly sizes: typeof recordWords1 | typeof recordWords2;
  readonly #defs = new Map<number, number>();
  /** Words per record by kind, for the kinds whose size is fixed (else 0). */
  readonly #fixedWords = new Uint8Array(256);

  constructor(pointerBytes: 4 | 8) {
    this.wide = pointerBytes === 8;
    this.sizes = this.wide ? recordWords2 : recordWords1;
    for (const name of ["exec", "syscall", "sysret", "exit", "munmap", "block_open"] as const) this.#fixedWords[Kind[name]] = this.sizes[name];
  }

  addr(words: Uint32Array, at: number): number {
    return this.wide ? words[at]! + words[at + 1]! * two32 : words[at]!;
  }

  /** Words in the record at `at`, validated against the chunk's end. */
  sizeAt(words: Uint32Array, at: number): number {
    const head = words[at]!;
    const kind = head & 0xff;
    let size = this.#fixedWords[kind]!;
    if (size === 0)
      switch (kind) {
        case Kind.mem:
          size = 1 + (this.wide ? 2 : 1) + memValueWords(head);
          break;
        case Kind.regs:
          size = 1 + (head >>> countShift);
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

  /**
   * `visitBlock`, when given, takes the instructions of a block from its
   * `from`th to before its `to`th in one call — `def` is the word offset of
   * its definition, whose PCs start at `def + 2` — instead of one `visit`
   * per instruction: a column fill can then copy PCs in a tight loop.
   */
  walk(words: Uint32Array, visit: Visit, visitBlock?: (def: number, from: number, to: number) => void): void {
    const defs = this.#defs;
    defs.clear();
    const aw = this.wide ? 2 : 1;
    // The owner of the records that follow: a block (def >= 0) or an exec
    // record's instruction (def < 0, pc in execPc); `executed` of its
    // instructions ran, `emitted` were visited, accesses may name
    // instructions from `nextInsn` on.
    let def = -1;
    let execPc = 0;
    let executed = 0;
    let emitted = 0;
    let nextInsn = 0;
    const pcOf = (insn: number) => (def >= 0 ? this.addr(words, def + 2 + insn * aw) : execPc);
    const emitThrough = (end: number) => {
      if (emitted >= end) return;
      if (visitBlock) visitBlock(def, emitted, end);
      else for (let i = emitted; i < end; i++) visit(Kind.exec, -1, pcOf(i));
      emitted = end;
    };
    let at = 0;
    while (at < words.length) {
      const size = this.sizeAt(words, at);
      const head = words[at]!;
      const kind = head & 0xff;
      if (kind === Kind.mem) {
        const insn = (head >>> memInsnShift) & memInsnMask;
        if (insn < nextInsn || insn >= executed) corrupt(`access at word ${at} names instruction ${insn} of ${executed} (from ${nextInsn} on)`);
        nextInsn = insn;
        emitThrough(insn + 1);
        visit(Kind.mem, at, pcOf(insn));
      } else if (kind === Kind.exec) {
        emitThrough(executed);
        def = -1;
        execPc = this.addr(words, at + 1);
        executed = 1;
        emitted = 1;
        nextInsn = 0;
        visit(Kind.exec, at, execPc);
      } else if (kind === Kind.block_open) {
        emitThrough(executed);
        const id = words[at + 1]!;
        const found = defs.get(id);
        if (found === undefined) corrupt(`block ${id} used at word ${at} without a definition in its chunk`);
        const ran = head >>> countShift;
        if (ran > words[found]! >>> countShift) corrupt(`block ${id} ran ${ran} instructions, more than it has`);
        def = found;
        executed = ran;
        emitted = 0;
        nextInsn = 0;
        visit(Kind.block_open, at, 0);
      } else if (kind === Kind.block_def) {
        defs.set(words[at + 1]!, at);
      } else if (kind === Kind.regs) {
        // The exec record's instruction, before its accesses.
        if (def >= 0 || executed !== 1 || nextInsn !== 0) corrupt(`registers at word ${at} follow no exec record`);
        visit(Kind.regs, at, execPc);
      } else {
        // After the owner's last instruction; no access of it follows.
        emitThrough(executed);
        nextInsn = executed;
        visit(kind, at, 0);
      }
      at += size;
    }
    emitThrough(executed);
  }
}
