// SPDX-License-Identifier: MIT
//! Translation-time filters from the command line: --range, --once, --no-mem,
//! --no-values (on both backends).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./helpers/scratch";

const repo = join(import.meta.dir, "..");
const scratch = scratchDir("filters");
const guest = join(repo, "test/guests/build/mipsel/loops");
const env = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" };

function trace(options: string[]): { pcs: number[]; reads: number; writes: number } {
  const out = join(scratch, `trace-${Math.random()}.txt`);
  const run = Bun.spawnSync([process.execPath, join(repo, "src/cli.ts"), "run", "--quiet", "--tracer", "print", "-o", out, ...options, "--", guest], { env, cwd: repo });
  expect(run.exitCode).toBe(3); // the guest's own exit code
  const lines = readFileSync(out, "utf8").split("\n");
  const pcs = lines.filter((l) => l.includes(" exec ")).map((l) => parseInt(l.split(" exec ")[1]!, 16));
  return { pcs, reads: lines.filter((l) => l.includes(" read ")).length, writes: lines.filter((l) => l.includes(" write ")).length };
}

const full = trace([]);

test("--range keeps exactly the instructions inside [LO, HI), in order", () => {
  const sorted = [...new Set(full.pcs)].sort((a, b) => a - b);
  const lo = sorted[Math.floor(sorted.length / 4)]!;
  const hi = sorted[Math.floor(sorted.length / 2)]!;
  const ranged = trace(["--range", `0x${lo.toString(16)}-0x${hi.toString(16)}`]);
  expect(ranged.pcs).toEqual(full.pcs.filter((pc) => pc >= lo && pc < hi));
});

test("--once records each instruction the first time it runs, and no memory", () => {
  const once = trace(["--once"]);
  const firsts: number[] = [];
  const seen = new Set<number>();
  for (const pc of full.pcs) if (!seen.has(pc) && seen.add(pc)) firsts.push(pc);
  expect(once.pcs).toEqual(firsts);
  expect(once.reads + once.writes).toBe(0);
});

test("--no-mem keeps every instruction and drops memory accesses", () => {
  const noMem = trace(["--no-mem"]);
  expect(noMem.pcs).toEqual(full.pcs);
  expect(full.reads + full.writes).toBeGreaterThan(0);
  expect(noMem.reads + noMem.writes).toBe(0);
});

/** The access lines of a print run, without their values: "<pc> <addr> <size>". */
function accessesOf(options: string[]): { accesses: string[]; values: string[]; execs: number } {
  const out = join(scratch, `values-${Math.random()}.txt`);
  const run = Bun.spawnSync([process.execPath, join(repo, "src/cli.ts"), "run", "--quiet", "--tracer", "print", "-o", out, ...options, "--", guest], { env, cwd: repo });
  expect(run.exitCode).toBe(3);
  const lines = readFileSync(out, "utf8").split("\n");
  const access = lines.filter((l) => / (read|write) /.test(l)).map((l) => l.split(" ").slice(1));
  return { accesses: access.map((f) => f.slice(0, 4).join(" ")), values: access.map((f) => f[4]!), execs: lines.filter((l) => l.includes(" exec ")).length };
}

for (const backend of ["plugin", "patched"]) {
  test(`--no-values (${backend}): the same instructions and accesses, every value 0`, () => {
    const withValues = accessesOf(["--backend", backend]);
    const without = accessesOf(["--backend", backend, "--no-values"]);
    expect(without.execs).toBe(withValues.execs);
    expect(without.accesses).toEqual(withValues.accesses);
    expect(withValues.values.some((v) => v !== "0x0")).toBe(true);
    expect(without.values.every((v) => v === "0x0")).toBe(true);
  });
}
