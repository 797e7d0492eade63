// SPDX-License-Identifier: MIT
//! Decodes one chunk of trace records in place and feeds it to a tracer's
//! Worker-side handlers (per-event, or the batch form). Counting happens here
//! too, whatever the tracer, so the run's statistics come from the records
//! themselves. Record order and validation live in src/wire/walk.ts.
import { Kind, countShift, execInsnBytesShift, memBigEndianBit, memSignBit, memSizeShiftBit, memStoreBit, regsIndexMask, regsValueWordsShift } from "../wire/records.generated";
import { StreamCorruptError } from "../wire/StreamCorruptError";
import type { AnyTracer, MemEvent, MmapEvent, RecordBatch, ThreadInfo, TracerArgs } from "../tracer";
import { firstLine } from "./errors";
import { NativeCorrupt, nativeDecoder, type ChunkCounts } from "./NativeDecoder";
import { BatchColumns, LazyBatch, perEventColumns, rowsOf, type ColumnRows } from "./batch_columns";
import { RecordWalker, corrupt, type Visit } from "../wire/walk";
import { valueOfWords } from "../wire/value_words";

/** A tracer's own handler threw; the message names the handler and event. */
export class HandlerError extends Error {}

export type { ChunkCounts };

/** A memory event whose value becomes a BigInt only if a handler reads it
 *  (building one costs more than the rest of the event). */
class DecodedMemEvent implements MemEvent {
  readonly #lo: number;
  readonly #hi: number;
  readonly #upperLo: number;
  readonly #upperHi: number;

  constructor(
    readonly pc: number,
    readonly addr: number,
    readonly size: number,
    readonly isStore: boolean,
    readonly signed: boolean,
    readonly bigEndian: boolean,
    lo: number,
    hi: number,
    upperLo: number,
    upperHi: number,
  ) {
    this.#lo = lo;
    this.#hi = hi;
    this.#upperLo = upperLo;
    this.#upperHi = upperHi;
  }

  get value(): bigint {
    return valueOfWords(this.#lo, this.#hi, this.#upperLo, this.#upperHi);
  }
}

export class ChunkDecoder {
  readonly #tracer: AnyTracer;
  readonly #ctx: unknown;
  readonly #thread: ThreadInfo;
  readonly #walker: RecordWalker;
  readonly #columns = new BatchColumns();
  readonly #perEvent: boolean;
  /** Per-event, with a handler for syscall, sysret, mmap, munmap or regs
   *  events (which the columns do not carry). */
  readonly #otherHandlers: boolean;
  /** The columns the per-event handlers are fed from. */
  readonly #eventColumns: number;
  /** The columns the batch handler has read (DecoderColumn bits): each
   *  chunk fills them with its counting pass. */
  #batchReads = 0;

  constructor(tracer: AnyTracer, thread: ThreadInfo, args: TracerArgs) {
    this.#tracer = tracer;
    this.#thread = thread;
    this.#walker = new RecordWalker(thread.pointerBytes);
    this.#ctx = tracer.context ? tracer.context(thread, args) : undefined;
    this.#perEvent = !tracer.batch && !!(tracer.exec || tracer.read || tracer.write || tracer.syscall || tracer.sysret || tracer.mmap || tracer.munmap || tracer.regs);
    this.#otherHandlers = !!(tracer.syscall || tracer.sysret || tracer.mmap || tracer.munmap || tracer.regs);
    this.#eventColumns = perEventColumns(!!tracer.exec, !!(tracer.read || tracer.write));
  }

  /** Decodes `bytes` (one chunk), calls the handlers, returns the counts. */
  decode(bytes: Uint8Array, out: unknown[]): ChunkCounts {
    if (bytes.byteOffset % 4 !== 0 || bytes.length % 4 !== 0) {
      throw new StreamCorruptError("cannoli: corrupted stream: chunk length is not whole records");
    }
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    if (this.#tracer.batch) return this.#decodeBatch(words, out);
    if (this.#perEvent) return this.#decodeEvents(words, out);
    return this.#count(words);
  }

  /** Counts (natively) without expanding blocks: the fast path for tracers
   *  that only need totals, and the run's statistics for all of them. */
  #count(words: Uint32Array): ChunkCounts {
    try {
      return nativeDecoder().count(words, this.#thread.pointerBytes);
    } catch (error) {
      throw this.#corrupt(words, error);
    }
  }

  /** The reference walker names what the native pass refused. */
  #corrupt(words: Uint32Array, error: unknown): unknown {
    if (!(error instanceof NativeCorrupt)) return error;
    this.#walker.walk(words, () => {});
    return new StreamCorruptError(`cannoli: corrupted stream: record at word ${error.word}`);
  }

  /** Counts and fills the `wanted` columns in one native pass, into columns
   *  sized by the chunk's `known` counts or else by the chunks before (a
   *  memory record takes at least a head and an address, a run two words,
   *  so those are sized exactly); a chunk with more instructions than they
   *  hold is counted first, and they grow. */
  #countAndFill(words: Uint32Array, wanted: number, known?: ChunkCounts): ChunkCounts {
    const columns = this.#columns;
    columns.ensure(words.length, wanted, known ? rowsOf(known) : this.#rowBounds(words.length));
    try {
      const decoder = nativeDecoder();
      const counts = decoder.fill(words, this.#thread.pointerBytes, columns, wanted);
      if (counts) return counts;
      const needed = decoder.count(words, this.#thread.pointerBytes);
      columns.ensure(words.length, wanted, rowsOf(needed));
      return decoder.fill(words, this.#thread.pointerBytes, columns, wanted) ?? corrupt("chunk changed while it was decoded");
    } catch (error) {
      throw this.#corrupt(words, error);
    }
  }

  /** Most rows a chunk of `words` words can have: a memory record takes at
   *  least a head and an address; a run, an other record or a register
   *  entry at least two words (instructions are not bounded so: a block
   *  record holds many). */
  #rowBounds(words: number): ColumnRows {
    const half = Math.ceil(words / 2);
    return { instructions: 0, accesses: Math.ceil(words / (this.#walker.wide ? 3 : 2)), runs: half, others: half, registerEntries: half };
  }

  /** Per-event handlers. Instructions and memory accesses come from the
   *  native columns, interleaved in execution order; a chunk with events the
   *  columns do not carry, for a tracer that handles them, is walked here. */
  #decodeEvents(words: Uint32Array, out: unknown[]): ChunkCounts {
    const counts = this.#countAndFill(words, this.#eventColumns);
    // The columns carry neither those events nor instruction sizes.
    if ((this.#otherHandlers && counts.others > 0) || (this.#tracer.exec && counts.sizedExecs > 0)) {
      this.#walkEvents(words, out);
      return counts;
    }
    const tracer = this.#tracer;
    const ctx = this.#ctx;
    const columns = this.#columns;
    const exec = tracer.exec;
    const pcs = columns.execPc;
    const instructions = counts.instructions;
    const accesses = tracer.read || tracer.write ? counts.reads + counts.writes : 0;
    const execIndex = columns.memExecIndex;
    let e = 0;
    let m = 0;
    try {
      if (accesses === 0) {
        if (exec) for (; e < instructions; e++) exec.call(tracer, ctx, { pc: pcs[e]!, size: 0 }, out);
        return counts;
      }
      if (!exec) {
        // Accesses alone: no instruction to interleave them with.
        for (e = instructions; m < accesses; m++) this.#memEvent(m, out);
        return counts;
      }
      for (; e < instructions; e++) {
        for (; m < accesses && execIndex[m]! < e; m++) this.#memEvent(m, out);
        exec.call(tracer, ctx, { pc: pcs[e]!, size: 0 }, out);
      }
      for (; m < accesses; m++) this.#memEvent(m, out);
    } catch (error) {
      const where = `in thread ${this.#thread.pid}:${this.#thread.tid}`;
      const event =
        m < accesses && (e === instructions || execIndex[m]! < e)
          ? `${(columns.memFlags[m]! >>> (memStoreBit - memSizeShiftBit)) & 1 ? "write" : "read"}(pc=0x${columns.memPc[m]!.toString(16)}, addr=0x${columns.memAddr[m]!.toString(16)})`
          : `exec(pc=0x${pcs[e]!.toString(16)})`;
      throw new HandlerError(`cannoli: tracer handler threw on ${event} ${where}: ${firstLine(error)}`);
    }
    return counts;
  }

  #memEvent(m: number, out: unknown[]): void {
    const columns = this.#columns;
    const flags = columns.memFlags[m]!;
    const isStore = ((flags >>> (memStoreBit - memSizeShiftBit)) & 1) === 1;
    const handler = isStore ? this.#tracer.write : this.#tracer.read;
    if (!handler) return;
    const event = new DecodedMemEvent(
      columns.memPc[m]!,
      columns.memAddr[m]!,
      1 << (flags & 7),
      isStore,
      ((flags >>> (memSignBit - memSizeShiftBit)) & 1) === 1,
      ((flags >>> (memBigEndianBit - memSizeShiftBit)) & 1) === 1,
      columns.memValueLo[m]!,
      columns.memValueHi[m]!,
      columns.memValueUpperLo[m]!,
      columns.memValueUpperHi[m]!,
    );
    handler.call(this.#tracer, this.#ctx, event, out);
  }

  /** Per-event handlers through the reference walker, every record in order;
   *  `othersOnly`: only the events the columns do not carry (syscall, sysret,
   *  mmap, munmap), for a batch tracer that also handles those. */
  #walkEvents(words: Uint32Array, out: unknown[], othersOnly = false): void {
    const tracer = this.#tracer;
    const ctx = this.#ctx;
    const walker = this.#walker;
    const aw = walker.wide ? 2 : 1;
    const current = { kind: 0, at: 0, pc: 0, head: 0, addr: 0 };
    const visit: Visit = (kind, at, pc, head, addr, valueLo, valueHi, valueUpperLo, valueUpperHi) => {
      current.kind = kind;
      current.at = at;
      current.pc = pc;
      current.head = head;
      current.addr = addr;
      switch (kind) {
        case Kind.exec:
          if (!othersOnly) tracer.exec?.(ctx, { pc, size: (head >>> execInsnBytesShift) & 0xff }, out);
          break;
        case Kind.mem: {
          if (othersOnly) break;
          const isStore = ((head >>> memStoreBit) & 1) === 1;
          const handler = isStore ? tracer.write : tracer.read;
          if (!handler) break;
          const event = new DecodedMemEvent(
            pc,
            addr,
            1 << ((head >>> memSizeShiftBit) & 7),
            isStore,
            ((head >>> memSignBit) & 1) === 1,
            ((head >>> memBigEndianBit) & 1) === 1,
            valueLo,
            valueHi,
            valueUpperLo,
            valueUpperHi,
          );
          handler.call(tracer, ctx, event, out);
          break;
        }
        case Kind.syscall:
          if (tracer.syscall) {
            const args: bigint[] = [];
            for (let i = 0; i < 6; i++) args.push(this.#bigAddr(words, at + 1 + (1 + i) * aw));
            tracer.syscall(ctx, { number: walker.addr(words, at + 1), args }, out);
          }
          break;
        case Kind.sysret:
          if (tracer.sysret) {
            const raw = this.#bigAddr(words, at + 1 + aw);
            const ret = walker.wide ? BigInt.asIntN(64, raw) : BigInt.asIntN(32, raw);
            tracer.sysret(ctx, { number: walker.addr(words, at + 1), ret }, out);
          }
          break;
        case Kind.mmap:
          if (tracer.mmap) tracer.mmap(ctx, this.#mmapEvent(words, at), out);
          break;
        case Kind.munmap:
          tracer.munmap?.(ctx, { addr: walker.addr(words, at + 1), length: walker.addr(words, at + 1 + aw) }, out);
          break;
        case Kind.regs:
          if (tracer.regs) tracer.regs(ctx, { pc, values: this.#registerValues(words, at) }, out);
          break;
      }
    };
    try {
      walker.walk(words, visit, (def, from, to) => {
        // A block's instructions with nothing recorded between them: one loop.
        const exec = tracer.exec;
        if (!exec || othersOnly) return;
        current.kind = Kind.exec;
        for (let i = from, w = def + 2 + from * aw; i < to; i++, w += aw) {
          const pc = walker.addr(words, w);
          current.pc = pc;
          exec.call(tracer, ctx, { pc, size: 0 }, out);
        }
      });
    } catch (error) {
      if (error instanceof StreamCorruptError) throw error;
      throw new HandlerError(`cannoli: tracer handler threw on ${this.#describe(words, current)}: ${firstLine(error)}`);
    }
  }

  /** A regs record's entries by register name (records.zig), each checked
   *  against the handshake's register list. */
  #registerValues(words: Uint32Array, at: number): Record<string, bigint> {
    const registers = this.#thread.registers;
    const end = at + 1 + (words[at]! >>> countShift);
    const values: Record<string, bigint> = {};
    for (let w = at + 1; w < end; ) {
      const index = words[w]! & regsIndexMask;
      const valueWords = words[w]! >>> regsValueWordsShift;
      const register = registers[index];
      if (!register || valueWords !== Math.ceil(register.bytes / 4) || w + 1 + valueWords > end) corrupt(`register entry at word ${w}`);
      const bytes = new Uint8Array(words.buffer, words.byteOffset + (w + 1) * 4, register.bytes);
      let value = 0n;
      if (this.#thread.bigEndian) for (let i = 0; i < bytes.length; i++) value = (value << 8n) | BigInt(bytes[i]!);
      else for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
      values[register.name] = value;
      w += 1 + valueWords;
    }
    return values;
  }

  #bigAddr(words: Uint32Array, at: number): bigint {
    return this.#walker.wide ? (BigInt(words[at + 1]!) << 32n) | BigInt(words[at]!) : BigInt(words[at]!);
  }

  /** Names the handler and the event it was given, for error messages. */
  #describe(words: Uint32Array, current: { kind: number; at: number; pc: number; head: number; addr: number }): string {
    const walker = this.#walker;
    const where = `thread ${this.#thread.pid}:${this.#thread.tid}`;
    const hex = (word: number) => `0x${walker.addr(words, word).toString(16)}`;
    const at = current.at;
    switch (current.kind) {
      case Kind.exec:
        return `exec(pc=0x${current.pc.toString(16)}) in ${where}`;
      case Kind.mem:
        return `${(current.head >>> memStoreBit) & 1 ? "write" : "read"}(pc=0x${current.pc.toString(16)}, addr=0x${current.addr.toString(16)}) in ${where}`;
      case Kind.syscall:
        return `syscall(${walker.addr(words, at + 1)}) in ${where}`;
      case Kind.sysret:
        return `sysret(${walker.addr(words, at + 1)}) in ${where}`;
      case Kind.mmap:
        return `mmap(addr=${hex(at + 1)}) in ${where}`;
      default:
        return `munmap(addr=${hex(at + 1)}) in ${where}`;
    }
  }

  #mmapEvent(words: Uint32Array, at: number): MmapEvent {
    const walker = this.#walker;
    const aw = walker.wide ? 2 : 1;
    const pathBytes = words[at]! >>> 8;
    const pathAt = (at + walker.sizes.mmap) * 4;
    const bytes = new Uint8Array(words.buffer, words.byteOffset + pathAt, pathBytes);
    return {
      addr: walker.addr(words, at + 1),
      length: walker.addr(words, at + 1 + aw),
      offset: walker.addr(words, at + 1 + 2 * aw),
      prot: words[at + 1 + 3 * aw]!,
      flags: words[at + 2 + 3 * aw]!,
      fd: words[at + 3 + 3 * aw]! | 0,
      path: pathBytes > 0 ? new TextDecoder().decode(bytes) : null,
    };
  }

  #decodeBatch(words: Uint32Array, out: unknown[]): ChunkCounts {
    // Columns are filled only if the tracer reads them (a counting tracer
    // never pays for them); the ones it has read are filled with the
    // counting pass, in one pass over the chunk.
    const filled = this.#batchReads;
    const counts = filled !== 0 ? this.#countAndFill(words, filled) : this.#count(words);
    // The events the columns do not carry go to their own handlers first,
    // in order, so that a mapping reaches trace() before the instructions
    // that run in it.
    if (this.#otherHandlers && counts.others > 0) this.#walkEvents(words, out, true);
    const batch = new LazyBatch(this.#thread, words, counts, this.#columns, filled, (wanted) => void this.#countAndFill(words, wanted, counts));
    try {
      this.#tracer.batch!(this.#ctx, batch, out);
    } catch (error) {
      // A chunk found corrupt while the handler read its columns is the
      // stream's fault, not the handler's.
      if (error instanceof StreamCorruptError) throw error;
      throw new HandlerError(`cannoli: tracer handler batch threw on a chunk of thread ${this.#thread.pid}:${this.#thread.tid}: ${firstLine(error)}`);
    }
    this.#batchReads |= batch.read;
    return counts;
  }
}
