// SPDX-License-Identifier: MIT
//! The wire format is defined once, in zig-src/wire/records.zig; the
//! TypeScript view is generated from it. This fails when they drift apart,
//! or when the native decoder and the reference walker read a chunk differently.
import { expect, test } from "bun:test";
import * as records from "../src/wire/records.generated";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const repo = join(import.meta.dir, "..");

test("src/wire/records.generated.ts is what `zig build wire-ts` prints", () => {
  const generated = Bun.spawnSync([join(repo, "scripts/zig.sh"), "build", "wire-ts"], { cwd: repo });
  expect(generated.exitCode).toBe(0);
  expect(readFileSync(join(repo, "src/wire/records.generated.ts"), "utf8")).toBe(generated.stdout.toString());
});

test("src/consumer_abi.generated.ts is what `zig build consumer-abi-ts` prints", () => {
  const generated = Bun.spawnSync([join(repo, "scripts/zig.sh"), "build", "consumer-abi-ts"], { cwd: repo });
  expect(generated.exitCode).toBe(0);
  expect(readFileSync(join(repo, "src/consumer_abi.generated.ts"), "utf8")).toBe(generated.stdout.toString());
});

test("a block_open record owns the records after it: accesses after the instruction they name, the rest after its last", async () => {
  const { RecordWalker } = await import("../src/wire/walk");
  const { Kind, memInsnShift } = await import("../src/wire/records.generated");
  // 32-bit guest: block 7 = [0x10, 0x14, 0x18], cut after 2 instructions,
  // with a 4-byte load by instruction 1 and a syscall; then block 7 again,
  // whole, then an exec record with an 8-byte store.
  const words = new Uint32Array([
    Kind.block_def | (3 << 8),
    7,
    0x10,
    0x14,
    0x18,
    Kind.block_open | (2 << 8),
    7,
    Kind.mem | (2 << 8) | (1 << memInsnShift),
    0x1000,
    0x2a,
    Kind.syscall,
    64,
    1,
    2,
    3,
    4,
    5,
    6,
    Kind.block_open | (3 << 8),
    7,
    Kind.exec,
    0x40,
    Kind.mem | (3 << 8) | (1 << 11),
    0x2000,
    0x1,
    0x2,
  ]);
  const events: string[] = [];
  new RecordWalker(4).walk(words, (kind, _at, pc) => {
    if (kind !== Kind.block_open) events.push(`${kind === Kind.exec ? "exec" : kind === Kind.mem ? "mem" : `kind ${kind}`} ${pc.toString(16)}`);
  });
  expect(events).toEqual(["exec 10", "exec 14", "mem 14", `kind ${Kind.syscall} 0`, "exec 10", "exec 14", "exec 18", "exec 40", "mem 40"]);
});

/** Little-endian words of `[value, bytes]` pairs packed byte after byte,
 *  padded with `padByte()` (the decoders must not read the padding). */
function packed(fields: [number, number][], padByte = () => 0): number[] {
  const bytes: number[] = [];
  for (const [value, count] of fields) for (let b = 0; b < count; b++) bytes.push(Math.floor(value / 256 ** b) & 0xff);
  while (bytes.length % 4 !== 0) bytes.push(padByte());
  const words: number[] = [];
  for (let b = 0; b < bytes.length; b += 4) words.push((bytes[b]! | (bytes[b + 1]! << 8) | (bytes[b + 2]! << 16) | (bytes[b + 3]! << 24)) >>> 0);
  return words;
}

test("a block with a layout is followed by its accesses packed without heads: all after a block_run, the first `written` after a block_open", async () => {
  const { RecordWalker } = await import("../src/wire/walk");
  const { Kind, blockAccessesShift, layoutDeltaShift, layoutDerivedBit, layoutInsnShift, memInsnShift } = await import("../src/wire/records.generated");
  // Layout entries [flags | insn<<7 | derived<<16 | delta<<17], flags = a
  // mem head's bits 8-14: a 4-byte load by instruction 0, an 8-byte store
  // by 1, a 1-byte load by 2, and a 4-byte store by 2 whose address is 4
  // below the previous one's (derived: no address).
  const derived = (1 << layoutDerivedBit) | (-4 << layoutDeltaShift);
  const entries = [2, 3 | (1 << 3) | (1 << layoutInsnShift), 2 << layoutInsnShift, (2 | (1 << 3) | (2 << layoutInsnShift) | derived) >>> 0];
  // 32-bit guest: block 9 = [0x20, 0x24, 0x28] with that layout; it runs
  // whole (block_run: its four accesses in 29 bytes and 3 of padding, then
  // a headed 4-byte load by instruction 2), then is cut after 2
  // instructions and 1 access (block_open); then an exec record.
  const chunk = (cut: number) =>
    new Uint32Array([
      Kind.block_def | (3 << 8) | (4 << blockAccessesShift),
      9,
      0x20,
      0x24,
      0x28,
      ...entries,
      Kind.block_run | (9 << 8), // word 9
      ...packed([
        [0x1000, 4],
        [0xaa, 4],
        [0x2000, 4],
        [1, 4],
        [2, 4],
        [0x3000, 4],
        [0x66, 1],
        [0x77, 4],
      ]), // words 10-17
      Kind.mem | (2 << 8) | (2 << memInsnShift), // word 18
      0x4000,
      0x5,
      cut, // word 21
      9,
      ...packed([
        [0x1100, 4],
        [0xbb, 4],
      ]), // words 23-24
      Kind.exec,
      0x40,
    ]);
  const cutOpen = Kind.block_open | (2 << 8) | (1 << blockAccessesShift);
  const walk = (words: Uint32Array) => {
    const events: string[] = [];
    new RecordWalker(4).walk(words, (kind, at, pc, head, addr, lo, hi) => {
      const name = kind === Kind.exec ? "exec" : kind === Kind.mem ? "mem" : kind === Kind.block_open ? "open" : kind === Kind.block_run ? "run" : `kind ${kind}`;
      const access = kind === Kind.mem ? ` ${addr.toString(16)} ${lo.toString(16)}:${hi.toString(16)}` : "";
      events.push(`${name} ${pc.toString(16)} @${at} ${head.toString(16)}${access}`);
    });
    return events;
  };
  expect(walk(chunk(cutOpen))).toEqual([
    "run 0 @9 90d",
    "exec 20 @-1 0",
    "mem 20 @-1 202 1000 aa:0",
    "exec 24 @-1 0",
    "mem 24 @-1 10b02 2000 1:2",
    "exec 28 @-1 0",
    "mem 28 @-1 20002 3000 66:0",
    "mem 28 @-1 20a02 2ffc 77:0",
    "mem 28 @18 20202 4000 5:0",
    `open 0 @21 ${cutOpen.toString(16)}`,
    "exec 20 @-1 0",
    "mem 20 @-1 202 1100 bb:0",
    "exec 24 @-1 0",
    "exec 40 @25 1",
  ]);
  // Cut before any access: the words meant for one are read as a record.
  expect(() => walk(chunk(Kind.block_open | (2 << 8)))).toThrow("unknown record kind 0 at word 23");
  const corrupted = (at: number, word: number) => () => walk(chunk(cutOpen).map((w, i) => (i === at ? word : w)));
  // An entry naming an instruction the block does not have, or going back.
  expect(corrupted(7, entries[2]! + (1 << layoutInsnShift))).toThrow("layout entry 2 of the block at word 0 names instruction 3 of 3");
  expect(corrupted(8, (entries[3]! & ~(0x1ff << layoutInsnShift)) >>> 0)).toThrow("layout entry 3 of the block at word 0 names instruction 0 of 3 (from 2 on)");
  // An access beyond 16 bytes.
  expect(corrupted(5, 5)).toThrow("layout entry 0 of the block at word 0 has size shift 5");
  // A derived address first, or on an access without a value.
  expect(corrupted(5, entries[0]! | derived)).toThrow("layout entry 0 of the block at word 0 derives an address it cannot");
  expect(corrupted(8, entries[3]! | (1 << 6))).toThrow("layout entry 3 of the block at word 0 derives an address it cannot");
  // More accesses written than the layout has.
  expect(corrupted(21, Kind.block_open | (2 << 8) | (5 << blockAccessesShift))).toThrow("wrote 5 accesses, more than its layout has");
  // A block_run of a block that is not defined.
  expect(corrupted(9, Kind.block_run | (8 << 8))).toThrow("block 8 used at word 9 without a definition in its chunk");
  // Accesses written by instructions that did not run.
  expect(corrupted(21, Kind.block_open | (0 << 8) | (1 << blockAccessesShift))).toThrow("names instruction 0 of 0");
  // A written count on a block without a layout.
  expect(() => walk(new Uint32Array([Kind.block_def | (1 << 8), 9, 0x20, Kind.block_open | (1 << 8) | (1 << blockAccessesShift), 9]))).toThrow(
    "wrote 1 accesses, more than its layout has",
  );
  // Accesses running past the chunk.
  expect(() => walk(chunk(cutOpen).subarray(0, 14))).toThrow("access at word 12 runs past the chunk");
  expect(() => walk(chunk(cutOpen).subarray(0, 24))).toThrow("access at word 23 runs past the chunk");
});

/** A small seeded PRNG, so a failure names a reproducible case. */
function prng(seed: number): (n: number) => number {
  let state = seed >>> 0 || 1;
  return (n) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

/** Whether randomChunk writes blocks with static memory layouts (and their
 *  accesses without heads after their block_runs and block_opens). */
const withLayouts = true;

/** A layout entry: a mem head's bits 8-14 and the accessing instruction. */
/** `delta`: the address is the previous entry's plus it (derived), or null. */
type Entry = { flags: number; insn: number; delta: number | null };

/** The ways randomChunk breaks a layout rule, at most one per chunk. */
const enum Fault {
  entryInsnPastBlock,
  entriesGoingBack,
  entrySizeTooLarge,
  writtenWithoutLayout,
  writtenPastLayout,
  accessPastExecuted,
  accessesPastChunk,
  derivedFirst,
}

/** Random layout entries for a block of `insns` instructions: in
 *  instruction order, of every size and kind. */
function randomLayout(random: (n: number) => number, insns: number): Entry[] {
  const entries: Entry[] = Array.from({ length: 1 + random(6) }, () => ({
    flags: random(5) | (random(2) << 3) | (random(2) << 4) | (random(2) << 5) | (random(4) === 0 ? 1 << 6 : 0),
    insn: random(insns),
    delta: null,
  }));
  entries.sort((a, b) => a.insn - b.insn);
  // Derived addresses, from both ends of the delta's range too.
  for (let j = 1; j < entries.length; j++) {
    if (entryValueBytes(entries[j]!.flags) > 0 && random(3) === 0) entries[j]!.delta = random(4) ? random(65) - 32 : random(2) ? 16383 : -16384;
  }
  return entries;
}

/** Value bytes of an access with the entry flags `flags`, packed (walk.ts valueBytes). */
const entryValueBytes = (flags: number) => ((flags >>> 6) & 1 ? 0 : 1 << (flags & 7));

/** Random chunks, mostly well-formed, some with one word damaged or one
 *  layout rule broken. */
function randomChunk(random: (n: number) => number, wide: boolean): Uint32Array {
  const { Kind, blockAccessesShift, blockInsnsMask, layoutDeltaShift, layoutDerivedBit, layoutInsnShift, memInsnShift, memNoValueBit } = records;
  const words: number[] = [];
  const addr = (value: number) => (wide ? words.push(value, random(3)) : words.push(value));
  const blocks: { id: number; pcs: number[]; layout: Entry[] }[] = [];
  const opens: { at: number; insns: number }[] = [];
  let fault = withLayouts && random(6) === 0 ? (random(8) as Fault) : -1;
  /** Whether the chunk's fault is `which`, and if `possible`, breaks it now. */
  const breaks = (which: Fault, possible: boolean) => (fault === which && possible ? ((fault = -1), true) : false);
  let broken = false;
  // The owner of the records being written: instructions that ran, and the
  // first one the next access may name.
  let executed = 0;
  let nextInsn = 0;
  for (let r = 0, n = 1 + random(40); r < n; r++) {
    const choice = random(10);
    if (choice < 2 || blocks.length === 0) {
      const insns = 1 + random(12);
      const base = 0x1000 + random(64) * 4;
      const layout = withLayouts && random(2) ? randomLayout(random, insns) : [];
      const block = { id: random(1 << 20), pcs: Array.from({ length: insns }, (_, i) => base + i * 4), layout };
      const last = layout.length - 1;
      if (breaks(Fault.entryInsnPastBlock, last >= 0)) layout[last]!.insn = insns + random(3);
      if (breaks(Fault.entriesGoingBack, last >= 0 && layout[0]!.insn < layout[last]!.insn)) layout.reverse();
      if (breaks(Fault.entrySizeTooLarge, last >= 0)) layout[random(layout.length)]!.flags |= 5 + random(3);
      blocks.push(block);
      words.push(Kind.block_def | (insns << 8) | (layout.length << blockAccessesShift), block.id);
      for (const pc of block.pcs) addr(pc);
      if (breaks(Fault.derivedFirst, last >= 0)) layout[0]!.delta = 4;
      for (const { flags, insn, delta } of layout)
        words.push((flags | (insn << layoutInsnShift) | (delta === null ? 0 : (1 << layoutDerivedBit) | (delta << layoutDeltaShift))) >>> 0);
    } else if (choice < 5) {
      const block = blocks[random(blocks.length)]!;
      const layout = block.layout;
      const insns = block.pcs.length;
      // A block_run (whole), or a block_open: its first `executed`
      // instructions ran, and the first `written` of their accesses.
      const whole = random(3) === 0;
      executed = whole ? insns : random(insns + 1);
      nextInsn = 0;
      const ran = layout.filter((entry) => entry.insn < executed).length;
      let written = whole ? layout.length : random(2) ? ran : random(ran + 1);
      if (breaks(Fault.writtenWithoutLayout, !whole && layout.length === 0)) written = 1 + random(3);
      if (breaks(Fault.writtenPastLayout, !whole && layout.length > 0)) written = layout.length + 1 + random(2);
      if (breaks(Fault.accessPastExecuted, !whole && ran < layout.length)) written = layout.length;
      if (whole) words.push(Kind.block_run | (block.id << 8));
      else {
        opens.push({ at: words.length, insns });
        words.push(Kind.block_open | (executed << 8) | (written << blockAccessesShift), block.id);
      }
      // The accesses packed byte after byte, padded to whole words.
      const start = words.length;
      const fields: [number, number][] = [];
      for (const { flags, insn, delta } of layout.slice(0, written)) {
        if (delta === null) fields.push([random(1 << 30) + (wide ? random(3) * 2 ** 32 : 0), wide ? 8 : 4]);
        const size = entryValueBytes(flags);
        fields.push([random(1 << 30), Math.min(size, 4)]);
        for (let word = 1; word < size / 4; word++) fields.push([random(1 << 30), 4]);
        nextInsn = insn;
      }
      words.push(...packed(fields, () => (random(4) ? 0 : random(256))));
      if (breaks(Fault.accessesPastChunk, words.length > start)) {
        words.length -= 1 + random(words.length - start);
        broken = true;
        break;
      }
    } else if (choice < 8) {
      if (executed === 0 || nextInsn >= executed) continue;
      nextInsn += random(executed - nextInsn);
      const sizeShift = random(5);
      const noValue = random(4) === 0 ? 1 : 0;
      words.push(Kind.mem | (sizeShift << 8) | (random(2) << 11) | (noValue << memNoValueBit) | (nextInsn << memInsnShift));
      addr(random(1 << 30));
      if (!noValue) words.push(random(1 << 30));
      if (!noValue && sizeShift >= 3) words.push(random(4));
      if (!noValue && sizeShift === 4) words.push(random(1 << 30), random(1 << 30));
    } else if (choice === 8) {
      words.push(Kind.exec | (random(4) === 0 ? (1 + random(15)) << 8 : 0));
      addr(0x2000 + random(16) * 4);
      executed = 1;
      nextInsn = 0;
    } else if (random(3) === 0) {
      words.push(Kind.exit);
      nextInsn = executed;
    } else {
      words.push(Kind.syscall);
      for (let a = 0; a < 7; a++) addr(random(1 << 30));
      nextInsn = executed;
    }
  }
  if (broken || words.length === 0) return new Uint32Array(words);
  if (random(4) === 0) words[random(words.length)] = random(2) ? random(0x1000) : (random(1 << 20) << 8) | random(12);
  // The off-by-one that matters: a block that ran one instruction more than it has.
  else if (random(8) === 0 && opens.length > 0) {
    const { at, insns } = opens[random(opens.length)]!;
    words[at] = (words[at]! & ~(blockInsnsMask << 8)) | ((insns + 1) << 8);
  }
  return new Uint32Array(words);
}

test("the native decoder gives the reference walker's columns, counts and verdicts on random chunks", async () => {
  const { RecordWalker } = await import("../src/wire/walk");
  const { ChunkDecoder } = await import("../src/runtime/decode");
  const { noBlockId } = await import("../src/tracer");
  const { Kind, memInsnMask, memInsnShift, memSizeShiftBit, memStoreBit } = await import("../src/wire/records.generated");
  let rejected = 0;
  for (const pointerBytes of [4, 8] as const) {
    const random = prng(pointerBytes * 7919);
    const thread = { pid: 1, ppid: 0, tid: 1, image: 0, arch: "x", pointerBytes, bigEndian: false, exe: "", comm: "", backend: "plugin", registers: [] };
    // One decoder per form for all the chunks, as for a guest thread: the
    // per-event and batch forms then fill straight into columns sized before.
    type Sink = { execs: number[]; rows: string[]; events: string[]; runs: string[]; runExecs: number[]; addrs: number[]; others: string[] };
    const emptySink = (): Sink => ({ execs: [], rows: [], events: [], runs: [], runExecs: [], addrs: [], others: [] });
    let sink = emptySink();
    const batch = {
      batch: (_ctx: unknown, b: import("../src/tracer").RecordBatch) => {
        for (let e = 0; e < b.execCount; e++) sink.execs.push(b.execPc[e]!);
        for (let m = 0; m < b.memCount; m++) {
          const upper = `${b.memValueUpperLo[m]}:${b.memValueUpperHi[m]}`;
          sink.rows.push(`${b.memPc[m]} ${b.memAddr[m]} ${b.memSize[m]} ${b.memIsStore[m]} ${b.memValueLo[m]} ${b.memValueHi[m]} ${upper} ${b.memExecIndex[m]}`);
        }
      },
    };
    // Reads only the runs (and then only addresses): the columns it did not
    // read are never filled, and what it reads must not depend on them.
    const runs = {
      batch: (_ctx: unknown, b: import("../src/tracer").RecordBatch) => {
        const pcs = b.blockPcs;
        for (let r = 0; r < b.runCount; r++) {
          sink.runs.push(`${b.runBlockId[r]} ${b.runFirstExec[r]} ${b.runLength[r]}`);
          for (let i = 0; i < b.runLength[r]!; i++) sink.runExecs.push(pcs[b.runPcsAt[r]! + i]!);
        }
        for (let m = 0; m < b.memCount; m++) sink.addrs.push(b.memAddr[m]!);
        for (let o = 0; o < b.otherCount; o++) sink.others.push(`${b.otherKind[o]} ${b.otherWord[o]} ${b.otherAfterExecs[o]}`);
      },
    };
    const access = (kind: string) => (_ctx: unknown, event: import("../src/tracer").MemEvent) => {
      sink.events.push(`${kind} ${event.pc} ${event.addr} ${event.size} ${event.value}`);
    };
    const perEvent = { exec: (_ctx: unknown, event: { pc: number }) => void sink.events.push(`exec ${event.pc}`), read: access("read"), write: access("write") };
    const decoders = {
      batch: new ChunkDecoder(batch, thread, {}),
      runs: new ChunkDecoder(runs, thread, {}),
      perEvent: new ChunkDecoder(perEvent, thread, {}),
      counting: new ChunkDecoder({}, thread, {}),
    };
    for (let i = 0; i < 3000; i++) {
      const words = randomChunk(random, pointerBytes === 8);
      // Reference: the walker's instructions and memory rows, in order.
      let expected: Sink | Error;
      const walker = new RecordWalker(pointerBytes);
      try {
        const execs: number[] = [];
        const rows: string[] = [];
        const events: string[] = [];
        const runs: string[] = [];
        const addrs: number[] = [];
        const others: string[] = [];
        // The owning block's first row, and the last exec's; the owner's
        // run (a block that ran no instruction is none).
        let ownerRow = 0;
        let run = { id: 0, length: 0 };
        const endRun = () => {
          if (run.length > 0) runs.push(`${run.id} ${ownerRow} ${run.length}`);
          run = { id: 0, length: 0 };
        };
        walker.walk(words, (kind, at, pc, head, addr, lo, hi, upperLo, upperHi) => {
          if (kind === Kind.exec) {
            if (at >= 0) {
              endRun();
              ownerRow = execs.length;
              run = { id: noBlockId, length: 0 };
            }
            run.length++;
            execs.push(pc);
            events.push(`exec ${pc}`);
          }
          if (kind === Kind.block_open || kind === Kind.block_run) {
            endRun();
            ownerRow = execs.length;
            run = { id: kind === Kind.block_run ? head >>> 8 : words[at + 1]!, length: 0 };
          }
          if (kind === Kind.syscall || kind === Kind.sysret || kind === Kind.mmap || kind === Kind.munmap || kind === Kind.regs) others.push(`${kind} ${at} ${execs.length}`);
          if (kind !== Kind.mem) return;
          const size = 1 << ((head >>> memSizeShiftBit) & 7);
          const row = ownerRow + ((head >>> memInsnShift) & memInsnMask);
          addrs.push(addr);
          rows.push(`${pc} ${addr} ${size} ${(head >>> memStoreBit) & 1} ${lo} ${hi} ${upperLo}:${upperHi} ${row}`);
          const value = (BigInt(upperHi) << 96n) | (BigInt(upperLo) << 64n) | (BigInt(hi) << 32n) | BigInt(lo);
          events.push(`${(head >>> memStoreBit) & 1 ? "write" : "read"} ${pc} ${addr} ${size} ${value}`);
        });
        endRun();
        expected = { execs, rows, events, runs, runExecs: execs, addrs, others };
      } catch (error) {
        expected = error as Error;
      }
      // Native: the batch form's columns, per-event handlers fed from them,
      // and the counting-only pass (a tracer with no handlers), each judged
      // on its own: the per-event form fills without counting first (its
      // columns are sized by the chunks before), so a chunk that only the
      // fill pass would wrongly accept shows there.
      sink = emptySink();
      const outcome = (decoder: InstanceType<typeof ChunkDecoder>) => {
        try {
          return decoder.decode(new Uint8Array(words.buffer), []);
        } catch (error) {
          return error as Error;
        }
      };
      const verdicts = [outcome(decoders.perEvent), outcome(decoders.batch), outcome(decoders.counting), outcome(decoders.runs)];
      if (expected instanceof Error) {
        rejected++;
        for (const verdict of verdicts) expect(verdict instanceof Error ? verdict.message : "accepted").toBe(expected.message);
      } else {
        const counts = verdicts[1]!;
        if (counts instanceof Error) throw counts;
        for (const verdict of verdicts) expect(verdict).toEqual(counts);
        expect([counts.instructions, counts.reads + counts.writes]).toEqual([sink.execs.length, sink.rows.length]);
        expect(sink).toEqual(expected);
      }
    }
  }
  // Both verdicts are exercised, accepted chunks far more often.
  expect(rejected).toBeGreaterThan(300);
  expect(rejected).toBeLessThan(3000);
});
