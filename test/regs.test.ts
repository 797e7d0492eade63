// SPDX-License-Identifier: MIT
//! --regs: registers before each instruction, recorded as changes (plugin
//! backend, QEMU 9.0+). Checked against QEMU's own execlog with `reg=` in
//! the same QEMU (instruction by instruction: what changed), against values
//! a guest put in known registers at a known instruction (test/guests/regs.c
//! prints them), one regs event per instruction whose pc entry is the
//! instruction's own address, full snapshots at chunk starts, threads, and
//! clear one-line refusals where registers are not to be had.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { QEMU_10_0, elfSymbols, guestPath, repoRoot } from "./helpers/oracle";
import { cpuLogStates } from "./helpers/qemu_cpu_log";
import { scratchDir } from "./helpers/scratch";

const scratch = scratchDir("regs");
const env = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" };
const fold = join(repoRoot, "test/tracers/regs_fold.ts");
const cache = process.env.CANNOLI_CACHE ?? join(process.env.HOME ?? "/root", ".cache/cannoli");

interface Folded {
  thread: string;
  execs: number;
  regsEvents: number;
  snapshots: number;
  pcMismatches: number;
  at: Record<string, string> | null;
}

function cannoli(args: string[]) {
  const run = Bun.spawnSync([process.execPath, join(repoRoot, "src/cli.ts"), ...args], { env, cwd: scratch });
  return { exitCode: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
}

/** `run --regs` with the folding tracer, and QEMU's execlog logging the
 *  same registers' changes (`reg=`) in the same QEMU. */
function foldedRun(guest: string[], extra: string[] = []) {
  const out = join(scratch, `fold-${Math.random()}.txt`);
  const log = join(scratch, `execlog-${Math.random()}.log`);
  const oracle = ["-plugin", `${QEMU_10_0.oracle("execlog")},reg=x*,reg=sp,reg=cpsr`, "-d", "plugin", "-D", log].flatMap((arg) => ["--qemu-arg", arg]);
  const run = cannoli(["run", "--quiet", "--regs", "--qemu", QEMU_10_0.binary("aarch64"), "--tracer", fold, "-o", out, ...oracle, ...extra, "--", ...guest]);
  const lines = run.exitCode === 0 ? readFileSync(out, "utf8").trim().split("\n") : [];
  const threads = lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Folded);
  const changes = lines.filter((line) => !line.startsWith("{"));
  return { run, threads, changes, execlog: run.exitCode === 0 ? readFileSync(log, "utf8") : "" };
}

/** execlog's lines as `<pc> name=0xvalue ...`: each line lists what its
 *  instruction changed (read at the next instruction's start), pc aside
 *  (QEMU moves it only at block starts). */
function execlogChanges(log: string): string[] {
  const lines: string[] = [];
  for (const line of log.split("\n")) {
    const m = /^\d+, 0x([0-9a-f]+), /.exec(line);
    if (!m) continue;
    const changes = [...line.matchAll(/, ([a-z0-9]+) -> 0x([0-9a-f]+)/g)].filter((c) => c[1] !== "pc").map((c) => ` ${c[1]}=0x${BigInt(`0x${c[2]}`).toString(16)}`);
    lines.push(`0x${BigInt(`0x${m[1]}`).toString(16)}${changes.join("")}`);
  }
  return lines;
}

/** Both sides, lined up: execlog logs an instruction when the next one
 *  starts and flushes the last one at exit without its changes, so it has
 *  as many lines as we have instructions, the last one not comparable. */
function aligned(ours: string[], execlog: string[]): { ours: string[]; execlog: string[] } {
  expect(execlog.length).toBe(ours.length);
  return { ours: shifted(ours), execlog: execlog.slice(0, -1) };
}

/** Ours lists before each instruction what changed since the one before;
 *  execlog lists after each instruction what it changed: line k of execlog
 *  is our line k + 1's changes with line k's pc. */
function shifted(ours: string[]): string[] {
  return ours.slice(0, -1).map((line, k) => `${line.split(" ")[0]}${ours[k + 1]!.slice(ours[k + 1]!.indexOf(" ") === -1 ? ours[k + 1]!.length : ours[k + 1]!.indexOf(" "))}`);
}

describe("--regs on QEMU 10.0 (aarch64)", () => {
  test("the registers at the guest's marker instruction are the values it printed; every change is execlog's", () => {
    const guest = guestPath("aarch64", "regs");
    const marker = Number(elfSymbols(guest).get("regs_marker")!.value);
    const { run, threads, changes, execlog } = foldedRun([guest], ["--tracer-arg", `at=${marker}`]);
    expect(run.stderr).toBe("");
    const printed = /x19=([0-9a-f]+) x20=([0-9a-f]+)/.exec(run.stdout)!;
    expect(threads.length).toBe(1);
    const [thread] = threads;
    expect({ x19: thread!.at!.x19, x20: thread!.at!.x20, pc: thread!.at!.pc }).toEqual({ x19: `0x${printed[1]}`, x20: `0x${printed[2]}`, pc: `0x${marker.toString(16)}` });
    expect(thread!.at!.sp).not.toBe("0x0");
    // One regs event per instruction, each one's pc its own.
    expect({ regsEvents: thread!.regsEvents, pcMismatches: thread!.pcMismatches }).toEqual({ regsEvents: thread!.execs, pcMismatches: 0 });
    // Instruction by instruction, the same changes as QEMU's execlog.
    const oracle = execlogChanges(execlog);
    expect(oracle.length).toBeGreaterThan(1000);
    expect(aligned(changes, oracle)).toEqual({ ours: shifted(changes), execlog: oracle.slice(0, -1) });
  });

  test("across many chunks (busybox): full snapshots at chunk starts, every change still execlog's", () => {
    const input = join(scratch, "input.txt");
    writeFileSync(input, "cannoli registers ".repeat(300));
    const { run, threads, changes, execlog } = foldedRun([join(cache, "busybox/arm64/busybox"), "sha256sum", input]);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const [thread] = threads;
    expect(thread!.snapshots).toBeGreaterThan(3);
    expect({ regsEvents: thread!.regsEvents, pcMismatches: thread!.pcMismatches }).toEqual({ regsEvents: thread!.execs, pcMismatches: 0 });
    const { ours, execlog: theirs } = aligned(changes, execlogChanges(execlog));
    const firstDifference = ours.findIndex((line, k) => line !== theirs[k]);
    expect(firstDifference === -1 ? "same" : `line ${firstDifference}: ours ${ours[firstDifference]} / execlog ${theirs[firstDifference]}`).toBe("same");
  }, 120_000);

  test("threads: each thread starts with a full snapshot and has one regs event per instruction", () => {
    const { run, threads } = foldedRun([guestPath("aarch64", "threads")]);
    expect(run.exitCode).toBe(0);
    expect(threads.length).toBeGreaterThan(1);
    for (const thread of threads) {
      expect({ thread: thread.thread, ok: thread.snapshots >= 1 && thread.regsEvents === thread.execs && thread.pcMismatches === 0 }).toEqual({ thread: thread.thread, ok: true });
    }
  });

  test("--regs=LIST records just those registers (and globs)", () => {
    const out = join(scratch, "list.txt");
    const run = cannoli(["run", "--quiet", "--regs=x19,x2*", "--qemu", QEMU_10_0.binary("aarch64"), "--tracer", "print", "-o", out, "--", guestPath("aarch64", "regs")]);
    expect(run.exitCode).toBe(0);
    const names = new Set([...readFileSync(out, "utf8").matchAll(/ ([a-z0-9]+)=0x/g)].map((m) => m[1]!));
    expect([...names].sort()).toEqual(["x19", "x2", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29"].sort());
  });
});

describe("--regs where registers are not to be had: one line, no trace", () => {
  test("QEMU 7.2 (no register access for plugins)", () => {
    const run = cannoli(["run", "--regs", "--", guestPath("aarch64", "regs")]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^cannoli: --regs needs QEMU 9\.0 or newer .* is QEMU 7\.2\.\d+ \(give --qemu a newer one\)\n$/);
  });

  test("a guest whose registers QEMU does not list (MIPS on QEMU 10.0)", () => {
    const run = cannoli(["run", "--regs", "--qemu", QEMU_10_0.binary("mipsel"), "--", guestPath("mipsel", "regs")]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe("cannoli: QEMU offers plugins no mipsel registers (--regs)\n");
  });

  test("a name that is no register (a typo): refused, naming it and the registers on offer", () => {
    const run = cannoli(["run", "--regs=x0,bogus,x1*", "--qemu", QEMU_10_0.binary("aarch64"), "--", guestPath("aarch64", "regs")]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^cannoli: --regs: no aarch64 register matches bogus \(QEMU offers plugins: x0 x1 x2 .* sp pc cpsr .*\)\n$/);
    const glob = cannoli(["run", "--regs=q*", "--qemu", QEMU_10_0.binary("aarch64"), "--", guestPath("aarch64", "regs")]);
    expect(glob.exitCode).toBe(1);
    expect(glob.stderr).toStartWith("cannoli: --regs: no aarch64 register matches q* (QEMU offers plugins: x0 x1 ");
  });

  test("a bad list", () => {
    const run = cannoli(["run", "--regs=x0;rm", "--", guestPath("aarch64", "regs")]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe("cannoli: --regs=x0;rm: give register names or * globs separated by commas\n");
  });
});

/** Our folded states, instruction by instruction, from the fold tracer's lines. */
function foldedStates(changes: string[]): { pc: bigint; registers: Map<string, bigint> }[] {
  const current = new Map<string, bigint>();
  return changes.map((line) => {
    const [pc, ...assignments] = line.split(" ");
    for (const assignment of assignments) {
      const [name, value] = assignment.split("=");
      current.set(name!, BigInt(value!));
    }
    return { pc: BigInt(pc!), registers: new Map(current) };
  });
}

describe("--regs on the patched backend (QEMU 7.2)", () => {
  test.each([
    ["aarch64", "x19", "x20"],
    ["x86_64", "r12", "r13"],
    ["mipsel", "s0", "s1"],
  ] as const)("%s: the marker's registers are the guest's; before every instruction, QEMU's own -d cpu state", (arch, first, second) => {
    const guest = guestPath(arch, "regs");
    const marker = Number(elfSymbols(guest).get("regs_marker")!.value);
    const out = join(scratch, `patched-${arch}.txt`);
    const log = join(scratch, `patched-${arch}-cpu.log`);
    // One instruction per block, so QEMU logs its state before each one.
    const oracle = ["-singlestep", "-d", "cpu,nochain", "-D", log].flatMap((arg) => ["--qemu-arg", arg]);
    const run = cannoli(["run", "--quiet", "--regs", "--backend", "patched", "--tracer", fold, "--tracer-arg", `at=${marker}`, "-o", out, ...oracle, "--", guest]);
    expect(run.stderr).toBe("");
    expect(run.exitCode).toBe(0);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    const [thread] = lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Folded);
    // regs.c prints MIPS registers by number: s0 and s1 are r16 and r17.
    const printedNames = arch === "mipsel" ? ["r16", "r17"] : [first, second];
    const printed = new RegExp(`${printedNames[0]}=([0-9a-f]+) ${printedNames[1]}=([0-9a-f]+)`).exec(run.stdout)!;
    expect([thread!.at![first], thread!.at![second]]).toEqual([`0x${printed[1]}`, `0x${printed[2]}`]);
    expect({ regsEvents: thread!.regsEvents, pcMismatches: thread!.pcMismatches }).toEqual({ regsEvents: thread!.execs, pcMismatches: 0 });
    // Instruction by instruction: the same pc, and every register both
    // name holds the same value.
    const ours = foldedStates(lines.filter((line) => !line.startsWith("{")));
    const theirs = cpuLogStates(readFileSync(log, "utf8"), arch);
    expect(theirs.length).toBeGreaterThan(1000);
    expect(theirs.length).toBe(ours.length);
    for (const [k, state] of theirs.entries()) {
      const differing = [...ours[k]!.registers].filter(([name, value]) => name !== "pc" && state.registers.has(name) && state.registers.get(name) !== value);
      expect({ k, pc: ours[k]!.pc.toString(16), differing }).toEqual({ k, pc: state.pc.toString(16), differing: [] });
    }
  });

  test.each([
    ["threads", [guestPath("aarch64", "threads")]],
    ["a fault its signal handler survives", [guestPath("aarch64", "segv")]],
    ["busybox, across many chunks", [join(cache, "busybox/arm64/busybox"), "sha256sum", join(repoRoot, "README.md")]],
  ])(
    "%s: each thread starts with a full snapshot and has one regs event per instruction",
    (_name, guest) => {
      const out = join(scratch, `patched-${Math.random()}.txt`);
      const run = cannoli(["run", "--quiet", "--regs", "--backend", "patched", "--tracer", fold, "-o", out, "--", ...guest]);
      expect(run.stderr).toBe("");
      const threads = readFileSync(out, "utf8")
        .trim()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Folded);
      expect(threads.length).toBeGreaterThan(0);
      for (const thread of threads) {
        expect({ thread: thread.thread, ok: thread.snapshots >= 1 && thread.regsEvents === thread.execs && thread.pcMismatches === 0 }).toEqual({
          thread: thread.thread,
          ok: true,
        });
      }
      if (guest[0]!.endsWith("busybox")) expect(threads[0]!.snapshots).toBeGreaterThan(3);
    },
    60_000,
  );

  test("a name that is no register: QEMU's refusal and one line naming it and the registers it has", () => {
    const run = cannoli(["run", "--regs=x19,x99", "--backend", "patched", "--", guestPath("aarch64", "regs")]);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe("");
    const lines = run.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^qemu: -cannoli: .* refused to start$/);
    expect(lines.slice(1)).toEqual([
      "cannoli: --regs: no aarch64 register matches x99 (the patched QEMU has: x0 x1 x2 x3 x4 x5 x6 x7 x8 x9 x10 x11 x12 x13 x14 x15 x16 x17 x18 x19 x20 x21 x22 x23 x24 x25 x26 x27 x28 x29 x30 sp pc cpsr)",
    ]);
  });

  test("the batch form's register columns list what the regs handler gets, entry for entry", () => {
    const tracer = (form: "event" | "batch") => {
      const file = join(scratch, `entries-${form}.ts`);
      const handler =
        form === "event"
          ? `regs(_c, e, out) { for (const [name, value] of Object.entries(e.values)) out.push(\`\${e.pc.toString(16)} \${name}=\${value.toString(16)}\`); },`
          : `batch(_c, b, out) {
               for (let r = 0; r < b.regCount; r++) {
                 const register = b.thread.registers[b.regIndex[r]!]!;
                 const value = (BigInt(b.regValueHi[r]!) << 32n) | BigInt(b.regValueLo[r]!);
                 out.push(\`\${b.execPc[b.regExecRow[r]!]!.toString(16)} \${register.name}=\${value.toString(16)}\`);
               }
             },`;
      writeFileSync(
        file,
        `import { defineTracer } from ${JSON.stringify(join(repoRoot, "src/tracer.ts"))};
export default defineTracer<undefined, string, undefined>({ ${handler} trace(_s, items, _t, output) { for (const item of items) output.write(item + "\\n"); } });
`,
      );
      return file;
    };
    const recording = join(scratch, "entries.cnl");
    expect(cannoli(["record", "--quiet", "--regs", "--backend", "patched", "-o", recording, "--", guestPath("aarch64", "regs")]).exitCode).toBe(0);
    const replayed = (form: "event" | "batch") => {
      const out = join(scratch, `entries-${form}.txt`);
      const run = cannoli(["replay", recording, "--tracer", tracer(form), "-o", out]);
      expect(run.stderr).toBe("");
      return readFileSync(out, "utf8");
    };
    const events = replayed("event");
    expect(events.split("\n").length).toBeGreaterThan(3000);
    expect(replayed("batch")).toBe(events);
  });
});
