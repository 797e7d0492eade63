//! Decodes one chunk of trace records (zig-src/wire/records.zig) in place and
//! feeds it to a tracer's Worker-side handlers. Counting happens here too,
//! whatever the tracer, so the run's statistics come from the records
//! themselves. The producer is untrusted: a record that does not parse ends
//! the stream with StreamCorruptError, never an out-of-bounds read.
import { Kind, memBigEndianBit, memSignBit, memSizeShiftBit, memStoreBit, mmapPathShift, pathBytesMax, recordWords1, recordWords2 } from "../wire/records.generated";
import { StreamCorruptError } from "../mempipe/PipeReader";
import type { AnyTracer, MemEvent, MmapEvent, RecordBatch, ThreadInfo } from "../tracer";
import { firstLine } from "./errors";

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

const two32 = 4294967296;

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

  ensure(records: number): void {
    if (this.execPc.length >= records) return;
    const n = Math.max(records, this.execPc.length * 2);
    this.execPc = new Float64Array(n);
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
  readonly #wide: boolean;
  readonly #sizes: typeof recordWords1 | typeof recordWords2;
  readonly #columns = new BatchColumns();
  readonly #perEvent: boolean;

  constructor(tracer: AnyTracer, thread: ThreadInfo) {
    this.#tracer = tracer;
    this.#thread = thread;
    this.#wide = thread.pointerBytes === 8;
    this.#sizes = this.#wide ? recordWords2 : recordWords1;
    this.#ctx = tracer.context ? tracer.context(thread) : undefined;
    this.#perEvent = !tracer.batch && !!(tracer.exec || tracer.read || tracer.write || tracer.syscall || tracer.sysret || tracer.mmap || tracer.munmap);
  }

  /** Decodes `bytes` (one chunk), calls the handlers, returns the counts. */
  decode(bytes: Uint8Array, out: unknown[]): ChunkCounts {
    if (bytes.byteOffset % 4 !== 0 || bytes.length % 4 !== 0) throw new StreamCorruptError("cannoli: corrupted stream: chunk length is not whole records");
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    if (this.#tracer.batch) return this.#decodeBatch(words, out);
    if (this.#perEvent) return this.#decodeEvents(words, out);
    return this.#count(words);
  }

  #truncated(at: number): never {
    throw new StreamCorruptError(`cannoli: corrupted stream: record at word ${at} runs past the chunk`);
  }

  #badKind(kind: number, at: number): never {
    throw new StreamCorruptError(`cannoli: corrupted stream: unknown record kind ${kind} at word ${at}`);
  }

  #addr(words: Uint32Array, at: number): number {
    return this.#wide ? words[at]! + words[at + 1]! * two32 : words[at]!;
  }

  #bigAddr(words: Uint32Array, at: number): bigint {
    return this.#wide ? (BigInt(words[at + 1]!) << 32n) | BigInt(words[at]!) : BigInt(words[at]!);
  }

  #sizeOf(kind: number, at: number, head = 0): number {
    switch (kind) {
      case Kind.exec:
        return this.#sizes.exec;
      case Kind.mem:
        return this.#sizes.mem;
      case Kind.syscall:
        return this.#sizes.syscall;
      case Kind.sysret:
        return this.#sizes.sysret;
      case Kind.exit:
        return this.#sizes.exit;
      case Kind.munmap:
        return this.#sizes.munmap;
      case Kind.mmap: {
        const pathBytes = head >>> mmapPathShift;
        if (pathBytes > pathBytesMax) throw new StreamCorruptError(`cannoli: corrupted stream: mmap path of ${pathBytes} bytes at word ${at}`);
        return this.#sizes.mmap + ((pathBytes + 3) >>> 2);
      }
      default:
        return this.#badKind(kind, at);
    }
  }

  #mmapEvent(words: Uint32Array, at: number): MmapEvent {
    const aw = this.#wide ? 2 : 1;
    const pathBytes = words[at]! >>> mmapPathShift;
    const pathAt = (at + this.#sizes.mmap) * 4;
    const bytes = new Uint8Array(words.buffer, words.byteOffset + pathAt, pathBytes);
    return {
      addr: this.#addr(words, at + 1),
      length: this.#addr(words, at + 1 + aw),
      offset: this.#addr(words, at + 1 + 2 * aw),
      prot: words[at + 1 + 3 * aw]!,
      flags: words[at + 2 + 3 * aw]!,
      fd: words[at + 3 + 3 * aw]! | 0,
      path: pathBytes > 0 ? new TextDecoder().decode(bytes) : null,
    };
  }

  #count(words: Uint32Array): ChunkCounts {
    const counts: ChunkCounts = { instructions: 0, reads: 0, writes: 0, syscalls: 0, exited: false };
    const execWords = this.#sizes.exec;
    const memWords = this.#sizes.mem;
    let at = 0;
    while (at < words.length) {
      const head = words[at]!;
      const kind = head & 0xff;
      if (kind === Kind.exec) {
        counts.instructions++;
        at += execWords;
        continue;
      }
      if (kind === Kind.mem) {
        if ((head >>> memStoreBit) & 1) counts.writes++;
        else counts.reads++;
        at += memWords;
        continue;
      }
      if (kind === Kind.syscall) counts.syscalls++;
      else if (kind === Kind.exit) counts.exited = true;
      at += this.#sizeOf(kind, at, head);
    }
    if (at !== words.length) this.#truncated(at);
    return counts;
  }

  #decodeEvents(words: Uint32Array, out: unknown[]): ChunkCounts {
    const cursor = { at: 0 };
    try {
      return this.#decodeEventsFrom(words, out, cursor);
    } catch (error) {
      if (error instanceof StreamCorruptError) throw error;
      throw new HandlerError(`cannoli: tracer handler threw on ${this.#describe(words, cursor.at)}: ${firstLine(error)}`);
    }
  }

  /** Names the handler and the event it was given, for error messages. */
  #describe(words: Uint32Array, at: number): string {
    const head = words[at]!;
    const kind = head & 0xff;
    const where = `thread ${this.#thread.pid}:${this.#thread.tid}`;
    const hex = (word: number) => `0x${this.#addr(words, word).toString(16)}`;
    switch (kind) {
      case Kind.exec:
        return `exec(pc=${hex(at + 1)}) in ${where}`;
      case Kind.mem:
        return `${(head >>> memStoreBit) & 1 ? "write" : "read"}(pc=${hex(at + 1)}, addr=${hex(at + 1 + (this.#wide ? 2 : 1))}) in ${where}`;
      case Kind.syscall:
        return `syscall(${this.#addr(words, at + 1)}) in ${where}`;
      case Kind.sysret:
        return `sysret(${this.#addr(words, at + 1)}) in ${where}`;
      case Kind.mmap:
        return `mmap(addr=${hex(at + 1)}) in ${where}`;
      default:
        return `munmap(addr=${hex(at + 1)}) in ${where}`;
    }
  }

  #decodeEventsFrom(words: Uint32Array, out: unknown[], cursor: { at: number }): ChunkCounts {
    const tracer = this.#tracer;
    const ctx = this.#ctx;
    const counts: ChunkCounts = { instructions: 0, reads: 0, writes: 0, syscalls: 0, exited: false };
    const aw = this.#wide ? 2 : 1;
    let at = 0;
    while (at < words.length) {
      const head = words[at]!;
      const kind = head & 0xff;
      const size = this.#sizeOf(kind, at, head);
      if (at + size > words.length) this.#truncated(at);
      cursor.at = at;
      switch (kind) {
        case Kind.exec:
          counts.instructions++;
          tracer.exec?.(ctx, { pc: this.#addr(words, at + 1) }, out);
          break;
        case Kind.mem: {
          const isStore = ((head >>> memStoreBit) & 1) === 1;
          if (isStore) counts.writes++;
          else counts.reads++;
          const handler = isStore ? tracer.write : tracer.read;
          if (handler) {
            const valueAt = at + 1 + 2 * aw;
            const event: MemEvent = {
              pc: this.#addr(words, at + 1),
              addr: this.#addr(words, at + 1 + aw),
              size: 1 << ((head >>> memSizeShiftBit) & 7),
              value: (BigInt(words[valueAt + 1]!) << 32n) | BigInt(words[valueAt]!),
              isStore,
              signed: ((head >>> memSignBit) & 1) === 1,
              bigEndian: ((head >>> memBigEndianBit) & 1) === 1,
            };
            handler.call(tracer, ctx, event, out);
          }
          break;
        }
        case Kind.syscall:
          counts.syscalls++;
          if (tracer.syscall) {
            const args: bigint[] = [];
            for (let i = 0; i < 6; i++) args.push(this.#bigAddr(words, at + 1 + (1 + i) * aw));
            tracer.syscall(ctx, { number: this.#addr(words, at + 1), args }, out);
          }
          break;
        case Kind.sysret:
          if (tracer.sysret) {
            let ret = this.#bigAddr(words, at + 1 + aw);
            ret = this.#wide ? BigInt.asIntN(64, ret) : BigInt.asIntN(32, ret);
            tracer.sysret(ctx, { number: this.#addr(words, at + 1), ret }, out);
          }
          break;
        case Kind.mmap:
          if (tracer.mmap) tracer.mmap(ctx, this.#mmapEvent(words, at), out);
          break;
        case Kind.munmap:
          tracer.munmap?.(ctx, { addr: this.#addr(words, at + 1), length: this.#addr(words, at + 1 + aw) }, out);
          break;
        case Kind.exit:
          counts.exited = true;
          break;
      }
      at += size;
      cursor.at = at;
    }
    return counts;
  }

  #decodeBatch(words: Uint32Array, out: unknown[]): ChunkCounts {
    // The counting pass also validates every record; columns are filled only
    // if the tracer reads one (a counting tracer never pays for them).
    const counts = this.#count(words);
    const batch = new LazyBatch(this.#thread, words, counts, this.#columns, this.#wide);
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
  readonly #wide: boolean;
  #filled = false;

  constructor(thread: ThreadInfo, words: Uint32Array, counts: ChunkCounts, columns: BatchColumns, wide: boolean) {
    this.thread = thread;
    this.words = words;
    this.execCount = counts.instructions;
    this.readCount = counts.reads;
    this.writeCount = counts.writes;
    this.memCount = counts.reads + counts.writes;
    this.syscallCount = counts.syscalls;
    this.#columns = columns;
    this.#wide = wide;
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
    columns.ensure(Math.max(this.execCount, this.memCount));
    const words = this.words;
    const wide = this.#wide;
    const aw = wide ? 2 : 1;
    const sizes = wide ? recordWords2 : recordWords1;
    const addr = (at: number) => (wide ? words[at]! + words[at + 1]! * two32 : words[at]!);
    let exec = 0;
    let mem = 0;
    for (let at = 0; at < words.length; ) {
      const head = words[at]!;
      switch (head & 0xff) {
        case Kind.exec:
          columns.execPc[exec++] = addr(at + 1);
          at += sizes.exec;
          break;
        case Kind.mem:
          columns.memPc[mem] = addr(at + 1);
          columns.memAddr[mem] = addr(at + 1 + aw);
          columns.memSize[mem] = 1 << ((head >>> memSizeShiftBit) & 7);
          columns.memIsStore[mem] = (head >>> memStoreBit) & 1;
          columns.memValueLo[mem] = words[at + 1 + 2 * aw]!;
          columns.memValueHi[mem] = words[at + 2 + 2 * aw]!;
          columns.memExecIndex[mem] = Math.max(0, exec - 1);
          mem++;
          at += sizes.mem;
          break;
        case Kind.syscall:
          at += sizes.syscall;
          break;
        case Kind.sysret:
          at += sizes.sysret;
          break;
        case Kind.munmap:
          at += sizes.munmap;
          break;
        case Kind.mmap:
          at += sizes.mmap + (((head >>> mmapPathShift) + 3) >>> 2);
          break;
        default:
          at += sizes.exit;
      }
    }
    return columns;
  }
}
