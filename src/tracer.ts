// SPDX-License-Identifier: MIT
/**
 * The cannoli tracer API: what a tracer module (`cannoli run --tracer ./mine.ts`)
 * exports as its default, built with {@link defineTracer}.
 *
 * Processing is parallel until it has to be sequential:
 * - `context`, `exec`, `read`, `write`, `syscall`, `sysret`, `mmap`, `munmap`
 *   (or `batch`) run in
 *   Worker threads, on any Worker, in any order. They get a read-only
 *   per-thread context and push zero or more items into `out`.
 * - `trace` runs in the ordered stage, one call at a time, strictly in
 *   execution order for each guest thread, with mutable state made once by
 *   `init`. `finish` runs once at the end.
 *
 * Items cross from Workers to the ordered stage by structured clone, once per
 * chunk (not per event): push plain data (numbers, strings, arrays), and keep
 * them few — fold what you can in the Worker. Push values taken from an
 * event, not the event object: a {@link MemEvent}'s `value` is computed on
 * demand and does not survive cloning.
 *
 * @example
 * ```ts
 * import { defineTracer } from "@cannoli-trace/cannoli";
 * export default defineTracer({
 *   exec(ctx, ev, out) { if (ev.pc === 0x400123) out.push(1); },
 *   init: () => ({ hits: 0 }),
 *   trace(state, items) { state.hits += items.length; },
 *   finish(state, output) { output.write(`hits: ${state.hits}\n`); },
 * });
 * ```
 */
import { noBlockId as wireNoBlockId } from "./consumer_abi.generated";
import { valueOfWords } from "./wire/value_words";

/** Who produced a stream: one guest thread of one guest process. */
export interface ThreadInfo {
  /** Guest process id (the QEMU process's pid). */
  readonly pid: number;
  /** Parent process id: cannoli's own pid for the first process. */
  readonly ppid: number;
  /** Guest thread id (equal to `pid` for a process's main thread). */
  readonly tid: number;
  /** Execs this pid went through before the program this thread runs: 0
   *  for the program the process started with, 1 after its first `execve`
   *  of a guest program (cannoli follows execs), ... A process is a
   *  (`pid`, `image`) pair. */
  readonly image: number;
  /** QEMU's target name: "mipsel", "aarch64", "riscv64", "x86_64", ... */
  readonly arch: string;
  /** 4 for 32-bit guests, 8 for 64-bit guests. */
  readonly pointerBytes: 4 | 8;
  readonly bigEndian: boolean;
  /** The guest executable's path as QEMU was given it (absolute after an exec). */
  readonly exe: string;
  /** Short name of the guest program (at most 15 characters). */
  readonly comm: string;
  /** "plugin" (stock QEMU TCG plugin) or "patched" (cannoli's QEMU patch). */
  readonly backend: string;
  /** The registers a `--regs` run records (QEMU's names and sizes, e.g.
   *  x0..x30, sp, pc, cpsr on aarch64); empty without `--regs`. */
  readonly registers: readonly RegisterInfo[];
}

/** One recorded register. */
export interface RegisterInfo {
  /** QEMU's (gdb's) name: "x0", "sp", "pc", "cpsr", "rax", "eflags", ... */
  readonly name: string;
  /** Size in bytes. */
  readonly bytes: number;
}

/** The registers of one instruction, as they were before it ran (`--regs`):
 *  those that changed since the thread's previous `regs` event, or all of
 *  them at a chunk's start (events of one thread come in order, so folding
 *  them in `trace` rebuilds the full state at every instruction). */
export interface RegsEvent {
  /** The instruction's address. */
  readonly pc: number;
  /** Register name -> value (guest byte order applied). */
  readonly values: Readonly<Record<string, bigint>>;
}

/** One executed guest instruction. */
export interface ExecEvent {
  /** Guest virtual address of the instruction. */
  readonly pc: number;
  /** The instruction's size in bytes where the trace carries it (`--once`
   *  on the plugin backend, which coverage uses to end blocks exactly on
   *  x86 and RISC-V C); 0 where it does not. */
  readonly size: number;
}

/** One guest memory access, reported after it completed. */
export interface MemEvent {
  /** Address of the instruction that made the access. */
  readonly pc: number;
  /** Guest virtual address accessed. */
  readonly addr: number;
  /** Access size in bytes: 1, 2, 4, 8 or 16 (SSE and AVX moves, aarch64
   *  casp, and on QEMU 9.0+ an aarch64 ldp/stp of two X registers). */
  readonly size: number;
  /** The value loaded or stored, as the guest sees it (byte order applied),
   *  zero-extended, all 16 bytes of a 16-byte access; 0 in a run traced
   *  with `--no-values`. Built when read (a BigInt costs more than the rest
   *  of the event): handlers that never read it do not pay for it. */
  readonly value: bigint;
  readonly isStore: boolean;
  /** The load sign-extends into its register (the value here is still the raw memory value). */
  readonly signed: boolean;
  /** The access is big-endian. */
  readonly bigEndian: boolean;
}

/** A system call as the guest issued it (guest numbering). */
export interface SyscallEvent {
  readonly number: number;
  /** The first six arguments, as unsigned guest words. */
  readonly args: readonly bigint[];
}

/** A system call's result (negative values are -errno). */
export interface SysretEvent {
  readonly number: number;
  readonly ret: bigint;
}

/** A successful mmap (or mmap2) of the guest, reported when it returned. */
export interface MmapEvent {
  /** Where the kernel placed the mapping. */
  readonly addr: number;
  readonly length: number;
  /** File offset in bytes (mmap2's page offset already multiplied out). */
  readonly offset: number;
  readonly prot: number;
  /** The guest's MAP_* flags (their values are architecture-specific). */
  readonly flags: number;
  /** -1 for anonymous memory. */
  readonly fd: number;
  /** The mapped file's path, or null for anonymous memory. */
  readonly path: string | null;
}

/** A successful munmap of the guest. */
export interface MunmapEvent {
  readonly addr: number;
  readonly length: number;
}

/**
 * The fast form: one chunk's records as columns, valid only during the call.
 * `words` is the raw record stream in shared memory; the counts are free,
 * and a column is decoded from `words` the first time it is read. A handler
 * pays only for the columns it reads: later chunks fill exactly those.
 *
 * Instructions come two ways. `execPc` has one PC per executed
 * instruction. The runs say the same with a row per block: run `i` executed
 * `runLength[i]` instructions whose PCs are `blockPcs[runPcsAt[i]]` onwards,
 * rows `runFirstExec[i]` onwards of `execPc`. A block's PCs are stored once
 * per chunk however often it runs, so a handler that works per block (hot
 * blocks, coverage) or walks the PCs through the runs skips expanding one
 * f64 per instruction.
 *
 * @example
 * ```ts
 * batch(ctx, b, out) {
 *   const pcs = b.blockPcs, at = b.runPcsAt, length = b.runLength;
 *   for (let r = 0; r < b.runCount; r++)
 *     for (let i = at[r]!, end = i + length[r]!; i < end; i++) visit(pcs[i]!);
 * }
 * ```
 */
export interface RecordBatch {
  readonly thread: ThreadInfo;
  /** Raw little-endian record words (see zig-src/wire/records.zig). */
  readonly words: Uint32Array;
  /** Number of executed instructions in this batch. */
  readonly execCount: number;
  /** PCs of the executed instructions, in order (first `execCount` entries). */
  readonly execPc: Float64Array;
  /** Number of memory accesses in this batch (`readCount + writeCount`). */
  readonly memCount: number;
  readonly readCount: number;
  readonly writeCount: number;
  readonly memPc: Float64Array;
  readonly memAddr: Float64Array;
  /** Size in bytes of each access. */
  readonly memSize: Uint8Array;
  /** 1 for a store, 0 for a load. */
  readonly memIsStore: Uint8Array;
  /** Low and high 32 bits of each value. */
  readonly memValueLo: Uint32Array;
  readonly memValueHi: Uint32Array;
  /** Bits 64-95 and 96-127 of each value: 0 except for 16-byte accesses. */
  readonly memValueUpperLo: Uint32Array;
  readonly memValueUpperHi: Uint32Array;
  /** Index in execPc of the instruction that made each access. */
  readonly memExecIndex: Uint32Array;
  /** Number of system calls issued in this batch. */
  readonly syscallCount: number;
  /** Number of runs: blocks that executed at least one instruction, and
   *  instructions recorded alone (`--no-blocks`, `--regs`, `--once`). */
  readonly runCount: number;
  /** Where each run's PCs start in `blockPcs`. */
  readonly runPcsAt: Uint32Array;
  /** Instructions each run executed (a block cut short by a fault or a
   *  signal ran fewer than it has). */
  readonly runLength: Uint32Array;
  /** Row in `execPc` (and `memExecIndex`'s numbering) of each run's first instruction. */
  readonly runFirstExec: Uint32Array;
  /** Each run's block: within one guest program (pid and image) an id
   *  always names the same PCs, so a context may cache per-block work by
   *  id. `noBlockId` for an instruction recorded alone. */
  readonly runBlockId: Uint32Array;
  /** The PCs the runs point into (each block once per chunk). */
  readonly blockPcs: Float64Array;
  /** Number of syscall, sysret, mmap, munmap and regs records in this
   *  batch: the events the other columns do not carry. Their handlers, when
   *  the tracer has them, are called with them in this order before `batch`. */
  readonly otherCount: number;
  /** Each such record's kind (zig-src/wire/records.zig: 3 syscall, 4 sysret,
   *  6 mmap, 7 munmap, 12 regs). */
  readonly otherKind: Uint8Array;
  /** Where each such record starts in `words`. */
  readonly otherWord: Uint32Array;
  /** How many of this batch's instructions ran before each such record:
   *  a syscall's instruction is row `otherAfterExecs[i] - 1` of `execPc`. */
  readonly otherAfterExecs: Uint32Array;
  /** Register changes (`--regs`) as columns: one row per register a
   *  regs record lists (what changed before an instruction ran, all of them
   *  in a thread's first record of each chunk). The same data as the
   *  `regs` handler's events, without an object per instruction. */
  readonly regCount: number;
  /** Row in `execPc` of the instruction the register value is from (before it ran). */
  readonly regExecRow: Uint32Array;
  /** The register: an index into `thread.registers`. */
  readonly regIndex: Uint32Array;
  /** Its value's first 8 bytes as two little-endian words (registers wider
   *  than 8 bytes: the regs handler has all of them). */
  readonly regValueLo: Uint32Array;
  readonly regValueHi: Uint32Array;
}

/** Access `m`'s value in a batch as a BigInt, as `MemEvent.value` gives it
 *  (all 16 bytes of a 16-byte access): from the four value columns. */
export function memValue(batch: RecordBatch, m: number): bigint {
  return valueOfWords(batch.memValueLo[m]!, batch.memValueHi[m]!, batch.memValueUpperLo[m]!, batch.memValueUpperHi[m]!);
}

/** `RecordBatch.runBlockId` of an instruction recorded alone. */
export const noBlockId: number = wireNoBlockId;

/** Where `trace` and `finish` write: stderr, or the `-o FILE` of the run. */
export interface Output {
  write(text: string): void;
}

/** The `--tracer-arg KEY=VALUE` options of the run (the last value of a
 *  repeated key wins), handed to `context` and `init`. */
export type TracerArgs = Readonly<Record<string, string>>;

export interface Tracer<Ctx = undefined, Item = unknown, State = undefined> {
  /** Builds the read-only per-thread context; called in every Worker for every guest thread. */
  context?(thread: ThreadInfo, args: TracerArgs): Ctx;
  exec?(ctx: Ctx, event: ExecEvent, out: Item[]): void;
  read?(ctx: Ctx, event: MemEvent, out: Item[]): void;
  write?(ctx: Ctx, event: MemEvent, out: Item[]): void;
  syscall?(ctx: Ctx, event: SyscallEvent, out: Item[]): void;
  sysret?(ctx: Ctx, event: SysretEvent, out: Item[]): void;
  mmap?(ctx: Ctx, event: MmapEvent, out: Item[]): void;
  munmap?(ctx: Ctx, event: MunmapEvent, out: Item[]): void;
  /** Registers before an instruction (`--regs`), right after its `exec`. */
  regs?(ctx: Ctx, event: RegsEvent, out: Item[]): void;
  /** The fast form. When present, `exec`, `read` and `write` are not called;
   *  `syscall`, `sysret`, `mmap`, `munmap` and `regs`, when present, still are, for
   *  each chunk's events of those kinds, in order and before `batch` is
   *  called on that chunk (so a mapping reaches `trace` before the
   *  instructions that run in it). */
  batch?(ctx: Ctx, batch: RecordBatch, out: Item[]): void;
  /** Builds the ordered stage's mutable state, once. */
  init?(args: TracerArgs): State;
  /** Called in execution order per guest thread with the items its Workers pushed. */
  trace?(state: State, items: Item[], thread: ThreadInfo, output: Output): void;
  /** A guest thread's stream ended (all its items have been traced). */
  threadEnd?(state: State, thread: ThreadInfo, output: Output): void;
  /** Called once when the run is over. */
  finish?(state: State, output: Output): void;
}

/** How cannoli's own tracers name a thread: `pid:tid`, or `pid.image:tid`
 *  for a program its process exec'd (`image` > 0). */
export function threadLabel(thread: ThreadInfo): string {
  return thread.image === 0 ? `${thread.pid}:${thread.tid}` : `${thread.pid}.${thread.image}:${thread.tid}`;
}

/** Identity function that gives a tracer object its full types. */
export function defineTracer<Ctx = undefined, Item = unknown, State = undefined>(tracer: Tracer<Ctx, Item, State>): Tracer<Ctx, Item, State> {
  return tracer;
}

/** A tracer with its type parameters erased, as the runtime handles it. */
export type AnyTracer = Tracer<unknown, unknown, unknown>;

/**
 * Symbolization: turns guest PCs into `module!function+0xoff` (or
 * `module+0xoff` where the module has no symbol there) from the ELF symbol
 * tables (.symtab, .dynsym) of the guest executable, its dynamic loader, and
 * every file it maps. Use it in the ordered stage: push exec PCs and the
 * mmap/munmap events as items, and keep a `Symbolizer` in the state (a
 * Worker decoding one chunk has not seen the mmaps of earlier chunks;
 * src/symbols/symbolizer.ts explains the choice).
 *
 * @example
 * ```ts
 * import { Symbolizer, defineTracer, type MmapEvent, type MunmapEvent } from "@cannoli-trace/cannoli";
 * type Item = number | { mmap: MmapEvent } | { munmap: MunmapEvent };
 * export default defineTracer<undefined, Item, Symbolizer>({
 *   exec(_ctx, ev, out) { out.push(ev.pc); },
 *   mmap(_ctx, ev, out) { out.push({ mmap: ev }); },
 *   munmap(_ctx, ev, out) { out.push({ munmap: ev }); },
 *   init: () => new Symbolizer(),
 *   trace(symbols, items, thread, output) {
 *     const process = symbols.process(thread);   // one module map per guest process
 *     for (const item of items) {
 *       if (typeof item === "number") output.write(`${process.symbolize(item) ?? item.toString(16)}\n`);
 *       else if ("mmap" in item) process.mmap(item.mmap);
 *       else process.munmap(item.munmap);
 *     }
 *   },
 * });
 * ```
 */
export { syscallName } from "./syscalls/syscall_names";
export { Symbolizer, type SymbolizerOptions } from "./symbols/symbolizer";
export type { ProcessSymbols, SymbolLocation } from "./symbols/process_symbols";
export type { LoadedModule } from "./symbols/loaded_module";
