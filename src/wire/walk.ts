// SPDX-License-Identifier: MIT
//! The reference decoder: walks one chunk's records (zig-src/wire/records.zig)
//! in execution order. Records are owned forward: an `exec` record is one
//! instruction, a `block_run` record its block's instructions, a
//! `block_open` record its block's first `executed` instructions, and the
//! records after any of them belong to it — a memory access goes right
//! after the instruction it names (its index in the block), anything else
//! after the block's last instruction. A block whose definition has a
//! static memory layout is followed by its accesses without heads, packed
//! byte after byte, the layout standing in for their heads (and for a
//! derived access's address). The native decoder
//! (zig-src/wire/BatchDecoder.zig) is the fast path of this walk; tests hold
//! the two equal. The producer is untrusted: every size, count, block id,
//! layout entry and instruction index is checked, and a bad one throws
//! StreamCorruptError.
import { StreamCorruptError } from "./StreamCorruptError";
import {
  Kind,
  blockAccessesMask,
  blockAccessesMax,
  blockAccessesShift,
  blockInsnsMask,
  blockInsnsMax,
  countShift,
  layoutFlagsMask,
  layoutInsnShift,
  layoutInsnMask,
  layoutDerivedBit,
  layoutDeltaShift,
  memInsnMask,
  memInsnShift,
  memNoValueBit,
  memSizeShiftBit,
  pathBytesMax,
  recordWords1,
  recordWords2,
} from "./records.generated";

/** Called per record in execution order (block_def aside; a block_open
 *  before its instructions and accesses). `at` is the record's word offset
 *  (-1 for an instruction expanded from a block) and `head` its head word
 *  (0 for such an instruction) — except for `mem`: there `at` is its
 *  record's offset (-1 for an access of a block with a layout, packed in
 *  the block's bytes), `head` its mem head (for a layout's, the one its
 *  entry stands for), `addr` its address (a layout's may be derived) and
 *  `valueLo`, `valueHi`, `valueUpperLo` and `valueUpperHi` its value's
 *  32-bit words, least significant first (the last two 0 but for a 16-byte
 *  access). `pc` is the instruction's for `exec`, the accessing
 *  instruction's for `mem`. */
export type Visit = (kind: number, at: number, pc: number, head: number, addr: number, valueLo: number, valueHi: number, valueUpperLo: number, valueUpperHi: number) => void;

/** Takes a block's instructions from its `from`th to before its `to`th in
 *  one call; `def` is the word offset of its definition, whose PCs start at
 *  `def + 2`. */
export type VisitBlock = (def: number, from: number, to: number) => void;

const two32 = 4294967296;

export function corrupt(message: string): never {
  throw new StreamCorruptError(`cannoli: corrupted stream: ${message}`);
}

/** Bytes of a packed value (records.zig valueBytes). */
function valueBytes(head: number): number {
  if ((head >>> memNoValueBit) & 1) return 0;
  return 1 << ((head >>> memSizeShiftBit) & 7);
}

/** Value words of the memory record whose head is `head` (records.zig memValueWords). */
export function memValueWords(head: number): number {
  if ((head >>> memNoValueBit) & 1) return 0;
  const sizeShift = (head >>> memSizeShiftBit) & 7;
  return sizeShift <= 2 ? 1 : sizeShift === 3 ? 2 : 4;
}

/** The mem head a layout entry stands for (records.zig layoutHead). */
function layoutHead(entry: number): number {
  return (Kind.mem | ((entry & layoutFlagsMask) << memSizeShiftBit) | (((entry >>> layoutInsnShift) & layoutInsnMask) << memInsnShift)) >>> 0;
}

const layoutDerived = (entry: number) => ((entry >>> layoutDerivedBit) & 1) === 1;
/** A derived entry's signed delta (records.zig layoutDelta). */
const layoutDelta = (entry: number) => entry >> layoutDeltaShift;

/** A block_def's or block_open's instruction count. */
const insnsOf = (head: number) => (head >>> countShift) & blockInsnsMask;
/** A block_def's layout length; a cut block_open's written accesses. */
const accessesOf = (head: number) => (head >>> blockAccessesShift) & blockAccessesMask;

export class RecordWalker {
  readonly wide: boolean;
  readonly sizes: typeof recordWords1 | typeof recordWords2;
  /** Words per record by kind, for the kinds whose size is fixed (else 0). */
  readonly #fixedWords = new Uint8Array(256);

  constructor(pointerBytes: 4 | 8) {
    this.wide = pointerBytes === 8;
    this.sizes = this.wide ? recordWords2 : recordWords1;
    for (const name of ["exec", "syscall", "sysret", "exit", "munmap", "block_open", "block_run"] as const) this.#fixedWords[Kind[name]] = this.sizes[name];
  }

  addr(words: Uint32Array, at: number): number {
    return this.wide ? words[at]! + words[at + 1]! * two32 : words[at]!;
  }

  /** Words in the record at `at`, validated against the chunk's end. A
   *  block_run's or block_open's are its own: the packed accesses after it
   *  are the walk's. */
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
          const insns = insnsOf(head);
          const accesses = accessesOf(head);
          if (insns < 1 || insns > blockInsnsMax) corrupt(`block of ${insns} instructions at word ${at}`);
          if (accesses > blockAccessesMax) corrupt(`block layout of ${accesses} accesses at word ${at}`);
          size = this.sizes.block_def + insns * (this.wide ? 2 : 1) + accesses;
          break;
        }
        default:
          corrupt(`unknown record kind ${kind} at word ${at}`);
      }
    if (at + size > words.length) corrupt(`record at word ${at} runs past the chunk`);
    return size;
  }

  /** Visits `words`' records in execution order. `visitBlock`, when given,
   *  takes runs of a block's instructions with nothing recorded between them
   *  instead of one `visit` each: a column fill can then copy PCs in a tight
   *  loop. */
  walk(words: Uint32Array, visit: Visit, visitBlock?: VisitBlock): void {
    new ChunkWalk(this, words, visit, visitBlock).run();
  }
}

/** One walk over one chunk. The owner of the records being read is a block
 *  (`def` >= 0, its definition's offset) or an exec record's instruction
 *  (`def` < 0, its pc in `execPc`): `executed` of its instructions ran,
 *  `emitted` were visited, and accesses may name instructions from
 *  `nextInsn` on. */
class ChunkWalk {
  /** The chunk's block definitions by id: their word offsets. */
  readonly #defs = new Map<number, number>();
  readonly #aw: number;
  #def = -1;
  #execPc = 0;
  #executed = 0;
  #emitted = 0;
  #nextInsn = 0;

  constructor(
    readonly walker: RecordWalker,
    readonly words: Uint32Array,
    readonly visit: Visit,
    readonly visitBlock: VisitBlock | undefined,
  ) {
    this.#aw = walker.wide ? 2 : 1;
  }

  run(): void {
    const words = this.words;
    let at = 0;
    while (at < words.length) {
      const size = this.walker.sizeAt(words, at);
      const head = words[at]!;
      const kind = head & 0xff;
      if (kind === Kind.mem) {
        const valueAt = at + 1 + this.#aw;
        const n = memValueWords(head);
        // No closure per record: this runs for every headed access.
        this.#access(
          at,
          head,
          at,
          this.walker.addr(words, at + 1),
          n > 0 ? words[valueAt]! : 0,
          n > 1 ? words[valueAt + 1]! : 0,
          n > 2 ? words[valueAt + 2]! : 0,
          n > 3 ? words[valueAt + 3]! : 0,
        );
      } else if (kind === Kind.exec) this.#exec(at, head);
      else if (kind === Kind.block_run) at += this.#run(at, head);
      else if (kind === Kind.block_open) at += this.#open(at, head);
      else if (kind === Kind.block_def) this.#define(at, head);
      else if (kind === Kind.regs) {
        // The exec record's instruction, before its accesses.
        if (this.#def >= 0 || this.#executed !== 1 || this.#nextInsn !== 0) corrupt(`registers at word ${at} follow no exec record`);
        this.visit(Kind.regs, at, this.#execPc, head, 0, 0, 0, 0, 0);
      } else {
        // After the owner's last instruction; no access of it follows.
        this.#emitThrough(this.#executed);
        this.#nextInsn = this.#executed;
        this.visit(kind, at, 0, head, 0, 0, 0, 0, 0);
      }
      at += size;
    }
    this.#emitThrough(this.#executed);
  }

  #pcOf(insn: number): number {
    return this.#def >= 0 ? this.walker.addr(this.words, this.#def + 2 + insn * this.#aw) : this.#execPc;
  }

  /** Visits the owner's instructions up to before its `end`th. */
  #emitThrough(end: number): void {
    const from = this.#emitted;
    if (from >= end) return;
    if (this.visitBlock) this.visitBlock(this.#def, from, end);
    else for (let i = from; i < end; i++) this.visit(Kind.exec, -1, this.#pcOf(i), 0, 0, 0, 0, 0, 0);
    this.#emitted = end;
  }

  /** The access told by `head` (its record at `at`, -1 for a layout's),
   *  right after the instruction it names (`where`: its record or its
   *  block's, for errors). */
  #access(at: number, head: number, where: number, addr: number, valueLo: number, valueHi: number, upperLo: number, upperHi: number): void {
    const insn = (head >>> memInsnShift) & memInsnMask;
    if (insn < this.#nextInsn || insn >= this.#executed) corrupt(`access at word ${where} names instruction ${insn} of ${this.#executed} (from ${this.#nextInsn} on)`);
    this.#nextInsn = insn;
    this.#emitThrough(insn + 1);
    this.visit(Kind.mem, at, this.#pcOf(insn), head, addr, valueLo, valueHi, upperLo, upperHi);
  }

  #exec(at: number, head: number): void {
    this.#emitThrough(this.#executed);
    this.#def = -1;
    this.#execPc = this.walker.addr(this.words, at + 1);
    this.#executed = 1;
    this.#emitted = 1;
    this.#nextInsn = 0;
    this.visit(Kind.exec, at, this.#execPc, head, 0, 0, 0, 0, 0);
  }

  /** Records the block_def at `at` for the block_opens after it. Its layout
   *  is checked here, once, so that a block_open need only check how many of
   *  its accesses ran and whose instructions they are. */
  #define(at: number, head: number): void {
    const insns = insnsOf(head);
    const layoutAt = at + 2 + insns * this.#aw;
    let last = 0;
    for (let j = 0, n = accessesOf(head); j < n; j++) {
      const entry = this.words[layoutAt + j]!;
      const insn = (entry >>> layoutInsnShift) & layoutInsnMask;
      if (insn < last || insn >= insns) corrupt(`layout entry ${j} of the block at word ${at} names instruction ${insn} of ${insns} (from ${last} on)`);
      // Accesses are 1 to 16 bytes (records.zig).
      if ((entry & 7) > 4) corrupt(`layout entry ${j} of the block at word ${at} has size shift ${entry & 7}`);
      // A derived address needs one before it, and a value (else its record would be empty).
      if (layoutDerived(entry) && (j === 0 || memValueWords(layoutHead(entry)) === 0)) corrupt(`layout entry ${j} of the block at word ${at} derives an address it cannot`);
      last = insn;
    }
    this.#defs.set(this.words[at + 1]!, at);
  }

  /** The block_open at `at`: its block ran its first `executed`
   *  instructions, and the first `written` of its layout's accesses follow.
   *  Returns the words of those accesses. */
  #open(at: number, head: number): number {
    const id = this.words[at + 1]!;
    const def = this.#definition(id, at);
    const executed = insnsOf(head);
    const written = accessesOf(head);
    if (executed > insnsOf(this.words[def]!)) corrupt(`block ${id} ran ${executed} instructions, more than it has`);
    if (written > accessesOf(this.words[def]!)) corrupt(`block ${id} at word ${at} wrote ${written} accesses, more than its layout has`);
    this.#enter(def, executed, at, head);
    return this.#layoutAccesses(at + this.walker.sizes.block_open, written, at);
  }

  /** The block_run at `at`: its block ran whole, all of its layout's
   *  accesses follow. Returns their words. */
  #run(at: number, head: number): number {
    const def = this.#definition(head >>> countShift, at);
    this.#enter(def, insnsOf(this.words[def]!), at, head);
    return this.#layoutAccesses(at + this.walker.sizes.block_run, accessesOf(this.words[def]!), at);
  }

  #definition(id: number, at: number): number {
    const def = this.#defs.get(id);
    if (def === undefined) corrupt(`block ${id} used at word ${at} without a definition in its chunk`);
    return def;
  }

  /** The block defined at `def` owns what follows the record at `at`. */
  #enter(def: number, executed: number, at: number, head: number): void {
    this.#emitThrough(this.#executed);
    this.#def = def;
    this.#executed = executed;
    this.#emitted = 0;
    this.#nextInsn = 0;
    this.visit(head & 0xff, at, 0, head, 0, 0, 0, 0, 0);
  }

  /** Visits the first `count` accesses of the owning block's layout,
   *  packed without a head from word `start` on (the record at `where`).
   *  Returns their words, padding included. */
  #layoutAccesses(start: number, count: number, where: number): number {
    const words = this.words;
    const aw = this.#aw;
    const layoutAt = this.#def + 2 + insnsOf(words[this.#def]!) * aw;
    const view = new DataView(words.buffer, words.byteOffset, words.byteLength);
    // The previous access's address, as its low and high words.
    let lo = 0;
    let hi = 0;
    let at = start * 4;
    for (let j = 0; j < count; j++) {
      const entry = words[layoutAt + j]!;
      const head = layoutHead(entry);
      const derived = layoutDerived(entry);
      const size = valueBytes(head);
      if (at + (derived ? 0 : aw * 4) + size > words.byteLength) corrupt(`access at word ${at >>> 2} runs past the chunk`);
      if (derived) {
        const sum = lo + layoutDelta(entry);
        lo = sum >>> 0;
        hi = aw === 2 ? (hi + Math.floor(sum / two32)) >>> 0 : 0;
      } else {
        lo = view.getUint32(at, true);
        hi = aw === 2 ? view.getUint32(at + 4, true) : 0;
        at += aw * 4;
      }
      const valueLo = size === 0 ? 0 : size === 1 ? view.getUint8(at) : size === 2 ? view.getUint16(at, true) : view.getUint32(at, true);
      const valueHi = size >= 8 ? view.getUint32(at + 4, true) : 0;
      const wide = size === 16;
      this.#access(-1, head, where, lo + hi * two32, valueLo, valueHi, wide ? view.getUint32(at + 8, true) : 0, wide ? view.getUint32(at + 12, true) : 0);
      at += size;
    }
    return Math.ceil(at / 4) - start;
  }
}
