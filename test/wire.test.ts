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

/** Random chunks, mostly well-formed, some with one word damaged. */
function randomChunk(random: (n: number) => number, wide: boolean): Uint32Array {
  const { Kind, memInsnShift, memNoValueBit } = records;
  const words: number[] = [];
  const addr = (value: number) => (wide ? words.push(value, random(3)) : words.push(value));
  const blocks: { id: number; pcs: number[] }[] = [];
  const opens: { at: number; insns: number }[] = [];
  // The owner of the records being written: instructions that ran, and the
  // first one the next access may name.
  let executed = 0;
  let nextInsn = 0;
  for (let r = 0, n = 1 + random(40); r < n; r++) {
    const choice = random(10);
    if (choice < 2 || blocks.length === 0) {
      const insns = 1 + random(12);
      const base = 0x1000 + random(64) * 4;
      const block = { id: random(1 << 20), pcs: Array.from({ length: insns }, (_, i) => base + i * 4) };
      blocks.push(block);
      words.push(Kind.block_def | (insns << 8), block.id);
      for (const pc of block.pcs) addr(pc);
    } else if (choice < 5) {
      const block = blocks[random(blocks.length)]!;
      opens.push({ at: words.length, insns: block.pcs.length });
      executed = random(block.pcs.length + 1);
      nextInsn = 0;
      words.push(Kind.block_open | (executed << 8), block.id);
    } else if (choice < 8) {
      if (executed === 0 || nextInsn >= executed) continue;
      nextInsn += random(executed - nextInsn);
      const sizeShift = random(5);
      const noValue = random(4) === 0 ? 1 : 0;
      words.push(Kind.mem | (sizeShift << 8) | (random(2) << 11) | (noValue << memNoValueBit) | (nextInsn << memInsnShift));
      addr(random(1 << 30));
      if (!noValue) words.push(random(1 << 30));
      if (!noValue && sizeShift >= 3) words.push(random(4));
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
  if (random(4) === 0) words[random(words.length)] = random(2) ? random(0x1000) : (random(1 << 20) << 8) | random(12);
  // The off-by-one that matters: a block that ran one instruction more than it has.
  else if (random(8) === 0 && opens.length > 0) {
    const { at, insns } = opens[random(opens.length)]!;
    words[at] = (words[at]! & 0xff) | ((insns + 1) << 8);
  }
  return new Uint32Array(words);
}

test("the native decoder gives the reference walker's columns, counts and verdicts on random chunks", async () => {
  const { RecordWalker, memValueWords } = await import("../src/wire/walk");
  const { ChunkDecoder } = await import("../src/runtime/decode");
  const { noBlockId } = await import("../src/tracer");
  const { Kind, memInsnMask, memInsnShift, memSizeShiftBit, memStoreBit } = await import("../src/wire/records.generated");
  let rejected = 0;
  for (const pointerBytes of [4, 8] as const) {
    const random = prng(pointerBytes * 7919);
    const aw = pointerBytes / 4;
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
          sink.rows.push(`${b.memPc[m]} ${b.memAddr[m]} ${b.memSize[m]} ${b.memIsStore[m]} ${b.memValueLo[m]} ${b.memValueHi[m]} ${b.memExecIndex[m]}`);
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
      sink.events.push(`${kind} ${event.pc} ${event.addr} ${event.size} ${Number(event.value)}`);
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
        // The owning block's first row, and the last exec's.
        let ownerRow = 0;
        walker.walk(words, (kind, at, pc) => {
          if (kind === Kind.exec) {
            if (at >= 0) {
              ownerRow = execs.length;
              runs.push(`${noBlockId} ${ownerRow} 1`);
            }
            execs.push(pc);
            events.push(`exec ${pc}`);
          }
          if (kind === Kind.block_open) {
            ownerRow = execs.length;
            if (words[at]! >>> 8 > 0) runs.push(`${words[at + 1]} ${ownerRow} ${words[at]! >>> 8}`);
          }
          if (kind === Kind.syscall || kind === Kind.sysret || kind === Kind.mmap || kind === Kind.munmap || kind === Kind.regs) others.push(`${kind} ${at} ${execs.length}`);
          if (kind !== Kind.mem) return;
          const head = words[at]!;
          const size = 1 << ((head >>> memSizeShiftBit) & 7);
          const valueWords = memValueWords(head);
          const lo = valueWords > 0 ? words[at + 1 + aw]! : 0;
          const hi = valueWords > 1 ? words[at + 2 + aw]! : 0;
          const addr = walker.addr(words, at + 1);
          const row = ownerRow + ((head >>> memInsnShift) & memInsnMask);
          addrs.push(addr);
          rows.push(`${pc} ${addr} ${size} ${(head >>> memStoreBit) & 1} ${lo} ${hi} ${row}`);
          events.push(`${(head >>> memStoreBit) & 1 ? "write" : "read"} ${pc} ${addr} ${size} ${lo + hi * 2 ** 32}`);
        });
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
