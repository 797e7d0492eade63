//! Decodes one chunk of trace records in place and feeds it to a tracer's
//! Worker-side handlers (per-event, or the batch form). Counting happens here
//! too, whatever the tracer, so the run's statistics come from the records
//! themselves. Record order and validation live in walk.ts.
import { Kind, memBigEndianBit, memSignBit, memSizeShiftBit, memStoreBit } from "../wire/records.generated";
import { StreamCorruptError } from "../mempipe/PipeReader";
import type { AnyTracer, MemEvent, MmapEvent, RecordBatch, ThreadInfo } from "../tracer";
import { firstLine } from "./errors";
import { RecordWalker } from "./walk";

/** A tracer's own handler threw; the message names the handler and event. */
export class HandlerError extends Error {}

export interface ChunkCounts {
  instructions: number;
  reads: number;
  writes: number;
  syscalls: number;
  /** The stream's `exit` record was seen (the thread ended normally). */
  exited: boolean;
}

/** A memory event whose 64-bit value becomes a BigInt only if a handler
 *  reads it (building one costs more than the rest of the event). */
class DecodedMemEvent implements MemEvent {
  readonly #lo: number;
  readonly #hi: number;

  constructor(
    readonly pc: number,
    readonly addr: number,
    readonly size: number,
    readonly isStore: boolean,
    readonly signed: boolean,
    readonly bigEndian: boolean,
    lo: number,
    hi: number,
  ) {
    this.#lo = lo;
    this.#hi = hi;
  }

  get value(): bigint {
    return (BigInt(this.#hi) << 32n) | BigInt(this.#lo);
  }
}

/** Reusable column storage for the batch form, grown on demand. */
class BatchColumns {
  execPc = new Float64Array(0);
  memPc = new Float64Array(0);
  memAddr = new Float64Array(0);
  memSize = new Uint8Array(0);
  memIsStore = new Uint8Array(0);
  memValueLo = new Uint32Array(0);
  memValueHi = new Uint32Array(0);
  memExecIndex = new Uint32Array(0);

  ensure(execs: number, mems: number): void {
    if (this.execPc.length < execs) this.execPc = new Float64Array(Math.max(execs, this.execPc.length * 2));
    if (this.memPc.length >= mems) return;
    const n = Math.max(mems, this.memPc.length * 2);
    this.memPc = new Float64Array(n);
    this.memAddr = new Float64Array(n);
    this.memSize = new Uint8Array(n);
    this.memIsStore = new Uint8Array(n);
    this.memValueLo = new Uint32Array(n);
    this.memValueHi = new Uint32Array(n);
    this.memExecIndex = new Uint32Array(n);
  }
}

export class ChunkDecoder {
  readonly #tracer: AnyTracer;
  readonly #ctx: unknown;
  readonly #thread: ThreadInfo;
  readonly #walker: RecordWalker;
  readonly #columns = new BatchColumns();
  readonly #perEvent: boolean;
  readonly #defs = new Map<number, number>();

  constructor(tracer: AnyTracer, thread: ThreadInfo) {
    this.#tracer = tracer;
    this.#thread = thread;
    this.#walker = new RecordWalker(thread.pointerBytes);
    this.#ctx = tracer.context ? tracer.context(thread) : undefined;
    this.#perEvent =
      !tracer.batch && !!(tracer.exec || tracer.read || tracer.write || tracer.syscall || tracer.sysret || tracer.mmap || tracer.munmap);
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

  /** Counts without expanding blocks: the fast path for tracers that only
   *  need totals (and for the run's statistics). */
  #count(words: Uint32Array): ChunkCounts {
    const walker = this.#walker;
    const defs = this.#defs;
    defs.clear();
    const counts: ChunkCounts = { instructions: 0, reads: 0, writes: 0, syscalls: 0, exited: false };
    let at = 0;
    while (at < words.length) {
      const head = words[at]!;
      const kind = head & 0xff;
      const size = walker.sizeAt(words, at);
      switch (kind) {
        case Kind.exec:
          counts.instructions++;
          break;
        case Kind.mem:
          if ((head >>> memStoreBit) & 1) counts.writes++;
          else counts.reads++;
          break;
        case Kind.block_def:
          defs.set(words[at + 1]!, at);
          break;
        case Kind.block:
        case Kind.block_open:
          counts.instructions += walker.defOf(words, at, defs).executed;
          break;
        case Kind.syscall:
          counts.syscalls++;
          break;
        case Kind.exit:
          counts.exited = true;
          break;
      }
      at += size;
    }
    return counts;
  }

  #decodeEvents(words: Uint32Array, out: unknown[]): ChunkCounts {
    const tracer = this.#tracer;
    const ctx = this.#ctx;
    const walker = this.#walker;
    const aw = walker.wide ? 2 : 1;
    const counts: ChunkCounts = { instructions: 0, reads: 0, writes: 0, syscalls: 0, exited: false };
    const current = { kind: 0, at: 0, pc: 0 };
    const visit = (kind: number, at: number, pc: number) => {
      current.kind = kind;
      current.at = at;
      current.pc = pc;
      switch (kind) {
        case Kind.exec:
          counts.instructions++;
          tracer.exec?.(ctx, { pc }, out);
          break;
        case Kind.mem: {
          const head = words[at]!;
          const isStore = ((head >>> memStoreBit) & 1) === 1;
          if (isStore) counts.writes++;
          else counts.reads++;
          const handler = isStore ? tracer.write : tracer.read;
          if (!handler) break;
          const valueAt = at + 1 + 2 * aw;
          const event = new DecodedMemEvent(
            walker.addr(words, at + 1),
            walker.addr(words, at + 1 + aw),
            1 << ((head >>> memSizeShiftBit) & 7),
            isStore,
            ((head >>> memSignBit) & 1) === 1,
            ((head >>> memBigEndianBit) & 1) === 1,
            words[valueAt]!,
            words[valueAt + 1]!,
          );
          handler.call(tracer, ctx, event, out);
          break;
        }
        case Kind.syscall:
          counts.syscalls++;
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
        case Kind.exit:
          counts.exited = true;
          break;
      }
    };
    try {
      walker.walk(words, visit, (def, executed) => {
        // A block with nothing recorded inside: its instructions in one loop.
        counts.instructions += executed;
        const exec = tracer.exec;
        if (!exec) return;
        current.kind = Kind.exec;
        for (let i = 0, w = def + 2; i < executed; i++, w += aw) {
          const pc = walker.addr(words, w);
          current.pc = pc;
          exec.call(tracer, ctx, { pc }, out);
        }
      });
    } catch (error) {
      if (error instanceof StreamCorruptError) throw error;
      throw new HandlerError(`cannoli: tracer handler threw on ${this.#describe(words, current)}: ${firstLine(error)}`);
    }
    return counts;
  }

  #bigAddr(words: Uint32Array, at: number): bigint {
    return this.#walker.wide ? (BigInt(words[at + 1]!) << 32n) | BigInt(words[at]!) : BigInt(words[at]!);
  }

  /** Names the handler and the event it was given, for error messages. */
  #describe(words: Uint32Array, current: { kind: number; at: number; pc: number }): string {
    const walker = this.#walker;
    const where = `thread ${this.#thread.pid}:${this.#thread.tid}`;
    const hex = (word: number) => `0x${walker.addr(words, word).toString(16)}`;
    const at = current.at;
    switch (current.kind) {
      case Kind.exec:
        return `exec(pc=0x${current.pc.toString(16)}) in ${where}`;
      case Kind.mem:
        return `${(words[at]! >>> memStoreBit) & 1 ? "write" : "read"}(pc=${hex(at + 1)}, addr=${hex(at + 1 + (walker.wide ? 2 : 1))}) in ${where}`;
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
    // The counting pass also validates every record; columns are filled only
    // if the tracer reads one (a counting tracer never pays for them).
    const counts = this.#count(words);
    const batch = new LazyBatch(this.#thread, words, counts, this.#columns, this.#walker);
    try {
      this.#tracer.batch!(this.#ctx, batch, out);
    } catch (error) {
      throw new HandlerError(`cannoli: tracer handler batch threw on a chunk of thread ${this.#thread.pid}:${this.#thread.tid}: ${firstLine(error)}`);
    }
    return counts;
  }
}

/** RecordBatch over one validated chunk; columns decode on first access. */
class LazyBatch implements RecordBatch {
  readonly thread: ThreadInfo;
  readonly words: Uint32Array;
  readonly execCount: number;
  readonly memCount: number;
  readonly readCount: number;
  readonly writeCount: number;
  readonly syscallCount: number;
  readonly #columns: BatchColumns;
  readonly #walker: RecordWalker;
  #filled = false;

  constructor(thread: ThreadInfo, words: Uint32Array, counts: ChunkCounts, columns: BatchColumns, walker: RecordWalker) {
    this.thread = thread;
    this.words = words;
    this.execCount = counts.instructions;
    this.readCount = counts.reads;
    this.writeCount = counts.writes;
    this.memCount = counts.reads + counts.writes;
    this.syscallCount = counts.syscalls;
    this.#columns = columns;
    this.#walker = walker;
  }

  get execPc() { return this.#fill().execPc; }
  get memPc() { return this.#fill().memPc; }
  get memAddr() { return this.#fill().memAddr; }
  get memSize() { return this.#fill().memSize; }
  get memIsStore() { return this.#fill().memIsStore; }
  get memValueLo() { return this.#fill().memValueLo; }
  get memValueHi() { return this.#fill().memValueHi; }
  get memExecIndex() { return this.#fill().memExecIndex; }

  #fill(): BatchColumns {
    const columns = this.#columns;
    if (this.#filled) return columns;
    this.#filled = true;
    columns.ensure(this.execCount, this.memCount);
    const words = this.words;
    const walker = this.#walker;
    const aw = walker.wide ? 2 : 1;
    const execPc = columns.execPc;
    let exec = 0;
    let mem = 0;
    const visit = (kind: number, at: number, pc: number) => {
      if (kind === Kind.exec) {
        execPc[exec++] = pc;
      } else if (kind === Kind.mem) {
        const head = words[at]!;
        columns.memPc[mem] = walker.addr(words, at + 1);
        columns.memAddr[mem] = walker.addr(words, at + 1 + aw);
        columns.memSize[mem] = 1 << ((head >>> memSizeShiftBit) & 7);
        columns.memIsStore[mem] = (head >>> memStoreBit) & 1;
        columns.memValueLo[mem] = words[at + 1 + 2 * aw]!;
        columns.memValueHi[mem] = words[at + 2 + 2 * aw]!;
        columns.memExecIndex[mem] = Math.max(0, exec - 1);
        mem++;
      }
    };
    // A block with nothing recorded inside it: its PCs, straight from its
    // definition (the batch form's hot loop).
    const visitBlock = walker.wide
      ? (def: number, executed: number) => {
          for (let i = 0, w = def + 2; i < executed; i++, w += 2) execPc[exec++] = words[w]! + words[w + 1]! * 4294967296;
        }
      : (def: number, executed: number) => {
          for (let i = 0, w = def + 2; i < executed; i++, w++) execPc[exec++] = words[w]!;
        };
    walker.walk(words, visit, visitBlock);
    return columns;
  }
}
