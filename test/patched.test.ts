// SPDX-License-Identifier: MIT
//! The patched-QEMU backend (`-cannoli`, recording code inlined in the JIT)
//! must give exactly the records of the plugin path. Both run on the same
//! patched binary (which also loads plugins), in the same environment; the
//! instruction count must also equal QEMU's own insn plugin.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { bunBinary, cliPath, runCannoli, runCannoliWithOracles } from "./helpers/cannoli_run";
import { firstDivergence } from "./helpers/compare";
import { readFileSync } from "node:fs";
import { type Arch, QEMU_7_2, coRunEnv, elfSymbols, guestEnv, parseInsnOutput, parseMemOutput, repoRoot } from "./helpers/oracle";
import { scratchDir } from "./helpers/scratch";

const build = Bun.spawnSync(["bash", join(repoRoot, "scripts/qemu-build.sh")], { stderr: "inherit" });
const patchedBin = build.stdout.toString().trim().split("\n").at(-1)!;
const scratch = scratchDir("patched-threads");
const oracles = join(process.env.CANNOLI_CACHE ?? join(process.env.HOME ?? "/root", ".cache/cannoli"), "oracles");

function insnOracle(qemu: string, guest: string, env: Record<string, string>): number {
  const run = Bun.spawnSync([qemu, "-plugin", `${join(oracles, "libinsn.so")},inline=on`, "-d", "plugin", guest], { env, cwd: repoRoot });
  return Number(/insns: (\d+)/.exec(run.stderr.toString())![1]);
}

test("scripts/qemu-build.sh built every target", () => {
  expect(build.exitCode).toBe(0);
  for (const arch of ["mipsel", "aarch64", "riscv64", "x86_64"]) expect(Bun.file(join(patchedBin, `qemu-${arch}`)).size).toBeGreaterThan(0);
});

/** One guest traced through both backends on the same patched binary. */
async function bothBackends(arch: string, name: string, options: string[] = []) {
  const guest = join(repoRoot, "test/guests/build", arch, name);
  const qemu = join(patchedBin, `qemu-${arch}`);
  const patched = await runCannoli(guest, [], { options: ["--backend", "patched", ...options, "--qemu", qemu] });
  const plugin = await runCannoli(guest, [], { options: [...options, "--qemu", qemu] });
  expect(patched.stderr).toBe("");
  expect(patched.exitCode).toBe(plugin.exitCode);
  return { guest, qemu, patched, plugin };
}

describe.each(["mipsel", "aarch64", "riscv64", "x86_64"])("%s", (arch) => {
  test.each(["loops", "memops", "segv"])("%s: same instructions and accesses as the plugin path", { timeout: 60_000 }, async (name) => {
    const { guest, qemu, patched, plugin } = await bothBackends(arch, name);
    expect(patched.stats?.backend).toBe("patched");
    const only = (run: typeof patched) => [...run.trace.threads.values()][0]!;
    const shape = (run: typeof patched) => only(run).insns.map((i) => [i.pc, i.accesses.map((a) => [a.store, a.addr, a.size])]);
    expect(shape(patched)).toEqual(shape(plugin));
    expect(patched.stats?.instructions).toBe(insnOracle(qemu, guest, patched.env));
    if (name === "memops") {
      // Values differ between two runs where they hold pids or times; the
      // guest's own buffer holds constants (memops.c), equal on both paths.
      const buf = BigInt(/buf=(0x[0-9a-f]+)/.exec(patched.stdout)![1]!);
      const inBuf = (run: typeof patched) => only(run).insns.flatMap((i) => i.accesses.filter((a) => a.addr >= buf && a.addr < buf + 16n));
      expect(inBuf(patched).length).toBeGreaterThanOrEqual(8);
      expect(inBuf(patched)).toEqual(inBuf(plugin));
    }
  });

  // PC only: the patched path then writes one record per block (cut short
  // at faults: segv), the plugin path too.
  test.each(["loops", "segv"])("%s, --no-mem: same instructions as the plugin path (block records)", { timeout: 60_000 }, async (name) => {
    const { guest, qemu, patched, plugin } = await bothBackends(arch, name, ["--no-mem"]);
    const pcs = (run: typeof patched) => [...run.trace.threads.values()][0]!.insns.map((i) => i.pc);
    expect(pcs(patched)).toEqual(pcs(plugin));
    expect(patched.stats?.instructions).toBe(insnOracle(qemu, guest, patched.env));
  });
});

// 16-byte accesses made inside helpers (a 16-byte compare-and-swap, run as
// an atomic once the guest has threads): both backends carry all 16 value
// bytes (wire protocol 4). Each thread swaps its own slot, so the values
// are the same in every run.
test.each(["x86_64", "aarch64"])("wide/%s: a 16-byte atomic inside a helper carries all its bytes, on both backends", { timeout: 60_000 }, async (arch) => {
  const { patched, plugin } = await bothBackends(arch, "wide");
  for (const run of [patched, plugin]) {
    const slot = BigInt(/slot=(0x[0-9a-f]+)/.exec(run.stdout)![1]!);
    const wide = [...run.trace.threads.values()].flatMap((t) => t.insns.flatMap((i) => i.accesses.filter((a) => a.size === 16 && a.store)));
    expect(wide.map((a) => [a.addr - slot, a.value]).sort((x, y) => Number(x[0]! - y[0]!))).toEqual([
      [0n, 0x11111111111111110123456789abcdefn],
      [16n, 0x22222222222222220123456789abcdf0n],
    ]);
  }
});

// Static layouts (patch 0009): a kept block's definition lists its accesses,
// whose records then come without a head. In segv's straight-line function
// the fault cuts that block after the two stores it made, in each of the
// guest's rounds; the equality tests above hold the cut trace exact.
test.each(["mipsel", "aarch64", "riscv64", "x86_64"])("%s segv: accesses come without heads, and the faulting block keeps the stores made before the fault", async (arch) => {
  const census = join(scratch, `${arch}-census.json`);
  const run = Bun.spawnSync(
    [
      bunBinary,
      cliPath,
      "run",
      "--backend",
      "patched",
      "--qemu",
      join(patchedBin, `qemu-${arch}`),
      "--tracer",
      "test/tracers/layout_census.ts",
      "-o",
      census,
      "--",
      join(repoRoot, "test/guests/build", arch, "segv"),
    ],
    { cwd: repoRoot, env: guestEnv() },
  );
  expect(run.stderr.toString()).toBe("");
  expect(run.stdout.toString()).toBe("segv ok 3\n");
  const counts = JSON.parse(readFileSync(census, "utf8")) as { headless: number; headed: number; cuts: number; cutWritten: number };
  expect({ cuts: counts.cuts, cutWritten: counts.cutWritten }).toEqual({ cuts: 3, cutWritten: 6 });
  // x86's rep strings and the accesses helpers make keep their heads.
  expect(counts.headless).toBeGreaterThan(5 * counts.headed);
});

// The dynamic guests also exercise memory accesses that QEMU makes inside
// helpers (MIPS swl/swr in glibc's string functions, x86 xsavec in ld.so's
// lazy binding), which patch 0005 records.
test.each([
  ["aarch64", "dynamic"],
  ["x86_64", "dynamic"],
  ["mipsel", "dynamic"],
  ["mipsel", "fork"],
  ["aarch64", "fork"],
  ["riscv64", "fork"],
  ["x86_64", "fork"],
])("%s %s: same per-process instruction and access sequences as the plugin path", { timeout: 60_000 }, async (arch, name) => {
  const { patched, plugin } = await bothBackends(arch, name);
  // pids differ between the two runs, and a parent's and a child's streams
  // open in either order: compare the set of per-thread sequences.
  const shape = (run: typeof patched) =>
    [...run.trace.threads.values()]
      .map((t) =>
        JSON.stringify(
          t.insns.map((i) => [i.pc, i.accesses.map((a) => [a.store, a.addr, a.size])]),
          (_k, v) => (typeof v === "bigint" ? v.toString(16) : v),
        ),
      )
      .sort();
  expect(shape(patched)).toEqual(shape(plugin));
});

// Threads interleave differently on every run, so QEMU's own plugins run
// inside the same patched QEMU (QEMU_PLUGIN) as the -cannoli backend.
describe.each(["mipsel", "aarch64", "riscv64", "x86_64"])("threads/%s on the patched backend", (arch) => {
  test("instructions equal QEMU's insn plugin and accesses its mem plugin, in the same run", { timeout: 60_000 }, async () => {
    const guest = join(repoRoot, "test/guests/build", arch, "threads");
    const qemu = join(patchedBin, `qemu-${arch}`);
    const insnLog = join(scratch, `${arch}-insn.log`);
    const withInsn = await runCannoli(guest, [], { env: guestEnv(coRunEnv("insn", insnLog)), options: ["--backend", "patched", "--qemu", qemu] });
    expect(withInsn.stderr).toBe("");
    expect(withInsn.stats?.threads).toBe(5);
    expect(withInsn.stats?.instructions).toBe(parseInsnOutput(readFileSync(insnLog, "utf8")).totals[0]);
    const memLog = join(scratch, `${arch}-mem.log`);
    const withMem = await runCannoli(guest, [], { env: guestEnv(coRunEnv("mem", memLog)), options: ["--backend", "patched", "--qemu", qemu] });
    expect(withMem.stderr).toBe("");
    // QEMU 7.2's mem plugin bumps one counter from every vCPU thread without
    // a lock, so with threads it can only lose counts: cannoli's must be at
    // least its figure and within a hair of it.
    const oracleAccesses = parseMemOutput(readFileSync(memLog, "utf8"))[0]!;
    const accesses = (withMem.stats?.reads ?? 0) + (withMem.stats?.writes ?? 0);
    expect(accesses).toBeGreaterThanOrEqual(oracleAccesses);
    expect(accesses - oracleAccesses).toBeLessThan(oracleAccesses * 0.01);
  });
});

// A guest dying of an uncaught fault (patch 0010): QEMU runs no callback on
// that path, so the records the JIT wrote since the thread's last server
// callback (the crash's own instructions) reach the consumer only because
// dump_core_and_abort hands the server the cursor. The trace ends at the
// faulting instruction (crash.c's crash_here), exactly: QEMU 7.2's execlog,
// in the same QEMU, logs an instruction once the next one runs, so it stops
// right before it. With blocks (the fault cuts the block short) and with a
// record per instruction (--no-blocks).
describe.each(["mipsel", "aarch64", "riscv64", "x86_64"])("crash/%s on the patched backend", (arch) => {
  test.each([
    ["blocks", []],
    ["--no-blocks", ["--no-blocks"]],
  ])("%s: the trace ends at the faulting instruction", { timeout: 60_000 }, async (_label, options) => {
    const guest = join(repoRoot, "test/guests/build", arch, "crash");
    const { cannoli, oracle } = await runCannoliWithOracles(QEMU_7_2, arch as Arch, guest, [], {
      env: guestEnv(),
      qemu: join(patchedBin, `qemu-${arch}`),
      options: ["--backend", "patched", ...options],
      want: { execlog: true, insn: false, mem: false },
    });
    expect(cannoli.exitCode).toBe(139);
    expect(cannoli.stderr).toMatch(/died of SIGSEGV; the trace ends there/);
    const insns = [...cannoli.trace.threads.values()][0]!.insns;
    const seq = oracle.execlog!.cpus.get(0)!;
    expect(seq.length).toBeGreaterThan(100);
    expect(firstDivergence(seq, insns.slice(0, -1))).toBeNull();
    expect(insns.length).toBe(seq.length + 1);
    const crashHere = elfSymbols(guest).get("crash_here")!.value;
    expect({ pc: insns.at(-1)!.pc, accesses: insns.at(-1)!.accesses }).toEqual({ pc: crashHere, accesses: [] });
  });
});

// With a second thread spinning when the main thread crashes (patch 0010
// keeps it out of translated code until the process dies): each thread's
// trace is its vCPU's execlog plus the instruction execlog had not logged
// yet. Before, the spinner's ended at its last server callback.
describe.each(["mipsel", "aarch64", "riscv64", "x86_64"])("crashthreads/%s on the patched backend", (arch) => {
  test("every thread's trace reaches where the crash stopped it", { timeout: 60_000 }, async () => {
    const guest = join(repoRoot, "test/guests/build", arch, "crashthreads");
    const { cannoli, oracle } = await runCannoliWithOracles(QEMU_7_2, arch as Arch, guest, [], {
      env: guestEnv(),
      qemu: join(patchedBin, `qemu-${arch}`),
      options: ["--backend", "patched"],
      want: { execlog: true, insn: false, mem: false },
    });
    expect(cannoli.exitCode).toBe(139);
    const cpus = oracle.execlog!.cpus;
    expect([...cpus.keys()].sort()).toEqual([0, 1]);
    const threads = [...cannoli.trace.threads.values()];
    const main = threads.find((t) => t.tid === t.pid)!;
    const spinner = threads.find((t) => t.tid !== t.pid)!;
    expect(threads.length).toBe(2);
    for (const [thread, seq] of [
      [main, cpus.get(0)!],
      [spinner, cpus.get(1)!],
    ] as const) {
      expect(firstDivergence(seq, thread.insns.slice(0, -1))).toBeNull();
      expect(thread.insns.length).toBe(seq.length + 1);
    }
    expect(main.insns.at(-1)!.pc).toBe(elfSymbols(guest).get("crash_here")!.value);
    expect(spinner.insns.length).toBeGreaterThan(20_000);
  });
});

// The crash meets threads inside the server's syscall callbacks too, which
// it must neither wait for nor race (zig-src/server/patched.zig,
// holdOutside): every run ends with the guest's signal, every stream
// decodes, and each thread's trace ends with it.
describe.each(["mipsel", "aarch64", "riscv64", "x86_64"])("crashsyscalls/%s on the patched backend", (arch) => {
  test("a crash among threads in system calls: no hang, every stream whole", { timeout: 60_000 }, () => {
    const guest = join(repoRoot, "test/guests/build", arch, "crashsyscalls");
    const stats = join(scratch, `${arch}-crashsyscalls.json`);
    for (let round = 0; round < 3; round++) {
      const argv = [
        bunBinary,
        cliPath,
        "run",
        "--quiet",
        "--tracer",
        "null",
        "--backend",
        "patched",
        "--qemu",
        join(patchedBin, `qemu-${arch}`),
        "--stats-json",
        stats,
        "--",
        guest,
      ];
      const run = Bun.spawnSync(argv, { cwd: repoRoot, env: guestEnv(), timeout: 30_000 });
      // A corrupt stream would be one more line and exit 1.
      expect({ exitCode: run.exitCode, stderr: run.stderr.toString().replace(/^qemu: uncaught target signal 11 .*\n/, "") }).toEqual({
        exitCode: 139,
        stderr: `cannoli: ${join(patchedBin, `qemu-${arch}`)} died of SIGSEGV; the trace ends there\n`,
      });
      const perThread = (JSON.parse(readFileSync(stats, "utf8")) as { per_thread: { instructions: number }[] }).per_thread;
      expect(perThread.length).toBe(6);
      for (const thread of perThread) expect(thread.instructions).toBeGreaterThan(0);
    }
  });
});

// "once" hooks silence themselves after the first execution: inline, with an
// atomic claim of the flag, so two guest threads racing for a fresh
// instruction cannot both record it.
describe.each(["mipsel", "aarch64", "riscv64", "x86_64"])("--once on the patched backend, %s", (arch) => {
  const pcsOf = (run: Awaited<ReturnType<typeof bothBackends>>["patched"]) => [...run.trace.threads.values()].flatMap((t) => t.insns.map((i) => i.pc));

  test("loops: each instruction's first execution, as on the plugin path", { timeout: 60_000 }, async () => {
    const { patched, plugin } = await bothBackends(arch, "loops", ["--once"]);
    const pcs = pcsOf(patched);
    expect(pcs).toEqual(pcsOf(plugin));
    expect(new Set(pcs).size).toBe(pcs.length);
    expect(pcs.length).toBeGreaterThan(100);
    expect((patched.stats?.reads ?? 0) + (patched.stats?.writes ?? 0)).toBe(0);
  });

  test("threads: no instruction recorded twice across the guest's threads", { timeout: 60_000 }, async () => {
    const guest = join(repoRoot, "test/guests/build", arch, "threads");
    const run = await runCannoli(guest, [], { options: ["--backend", "patched", "--once", "--qemu", join(patchedBin, `qemu-${arch}`)] });
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const pcs = pcsOf(run);
    expect(pcs.length).toBeGreaterThan(100);
    expect(new Set(pcs).size).toBe(pcs.length);
  });
});

test("cannoli doctor names both backends for the built targets", () => {
  const run = Bun.spawnSync([process.execPath, join(repoRoot, "src/cli.ts"), "doctor"]);
  expect(run.exitCode).toBe(0);
  expect(run.stdout.toString()).toContain(`patched: ${join(patchedBin, "qemu-mipsel")}`);
  expect(run.stdout.toString()).toMatch(/^mipsel +plugin: \S+qemu-mipsel: QEMU 7\.2\.\d+; plugin API 0\.\.1; server loads \(API 1\)/m);
});
