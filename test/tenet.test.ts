// SPDX-License-Identifier: MIT
//! `cannoli tenet`: traces the Tenet explorer opens, checked with a reader
//! written from Tenet's own loader (helpers/tenet_reader.ts): every line
//! parses, registers and memory rebuilt from the deltas hold the values the
//! guest printed at its marker instruction and stored, the first line holds
//! every register, the IP of each line is its instruction, and a replayed
//! recording writes the same files as the live run.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { QEMU_10_0, elfSymbols, guestPath, repoRoot } from "./helpers/oracle";
import { scratchDir } from "./helpers/scratch";
import { cpuLogStates } from "./helpers/qemu_cpu_log";
import { TENET_AMD64, replayTenet } from "./helpers/tenet_reader";

const scratch = scratchDir("tenet");
const env = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" };
const cannoli = (args: string[]) => {
  const run = Bun.spawnSync([process.execPath, join(repoRoot, "src/cli.ts"), ...args], { env, cwd: scratch });
  return { exitCode: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
};
const guest = guestPath("x86_64", "regs");

describe("cannoli tenet (x86_64)", () => {
  test.each([
    ["QEMU 10.0's plugin backend", ["--qemu", QEMU_10_0.binary("x86_64")]],
    ["the patched QEMU 7.2", ["--backend", "patched"]],
  ])("%s: the trace rebuilds the registers the guest set at its marker and the memory it stored", (name, backend) => {
    const dir = join(scratch, `live-${name.replaceAll(/\W+/g, "-")}`);
    const run = cannoli(["tenet", "--quiet", ...backend, "-o", dir, "--", guest]);
    expect(run.exitCode).toBe(0);
    expect(run.stderr).toMatch(/^tenet: 1 trace\(s\) in .*\n$/);
    const printed = /r12=([0-9a-f]+) r13=([0-9a-f]+)/.exec(run.stdout)!;
    const files = readdirSync(dir);
    expect(files.length).toBe(1);
    const { steps, memory } = replayTenet(readFileSync(join(dir, files[0]!), "utf8"), TENET_AMD64);
    expect(steps.length).toBeGreaterThan(1000);
    // The first line is a full snapshot: every register Tenet knows.
    expect([...steps[0]!.state.keys()].sort()).toEqual([...TENET_AMD64.registers].sort());
    const symbols = elfSymbols(guest);
    const marker = symbols.get("regs_marker")!.value;
    const at = steps.find((step) => step.ip === marker)!;
    expect({ r12: at.state.get("R12"), r13: at.state.get("R13") }).toEqual({ r12: BigInt(`0x${printed[1]}`), r13: BigInt(`0x${printed[2]}`) });
    expect(at.state.get("RSP")).toBeGreaterThan(0n);
    // What the guest stored: both words, little-endian, at `stored`.
    const stored = symbols.get("stored")!.value;
    const word = (base: bigint) => Array.from({ length: 8 }, (_, i) => memory.get(base + BigInt(i)) ?? -1).reduce((v, byte, i) => v | (BigInt(byte) << BigInt(8 * i)), 0n);
    expect({ first: word(stored), second: word(stored + 8n) }).toEqual({ first: BigInt(`0x${printed[1]}`), second: BigInt(`0x${printed[2]}`) });
    // The same words by one SSE store: QEMU 10 makes it one 16-byte access,
    // whose trace carries all 16 bytes.
    const wide = symbols.get("wide")!.value;
    expect({ first: word(wide), second: word(wide + 8n) }).toEqual({ first: BigInt(`0x${printed[1]}`), second: BigInt(`0x${printed[2]}`) });
  });

  test("replaying a --regs recording writes the same trace as tracing it live", () => {
    const recording = join(scratch, "run.cnl");
    const live = join(scratch, "recorded-live");
    const replayed = join(scratch, "replayed");
    const recorded = cannoli([
      "record",
      "--quiet",
      "--regs",
      "--qemu",
      QEMU_10_0.binary("x86_64"),
      "-o",
      recording,
      "--tracer",
      "tenet",
      "--tracer-arg",
      `dir=${live}`,
      "--",
      guest,
    ]);
    expect(recorded.exitCode).toBe(0);
    const replay = cannoli(["replay", recording, "--tracer", "tenet", "--tracer-arg", `dir=${replayed}`]);
    expect(replay.exitCode).toBe(0);
    const files = readdirSync(live);
    expect(readdirSync(replayed)).toEqual(files);
    for (const file of files) expect(readFileSync(join(replayed, file), "utf8")).toBe(readFileSync(join(live, file), "utf8"));
  });

  test("guests Tenet does not read, and runs without registers, get one line", () => {
    const aarch64 = cannoli(["tenet", "-o", join(scratch, "no"), "--", guestPath("aarch64", "regs")]);
    expect({ exitCode: aarch64.exitCode, stderr: aarch64.stderr }).toEqual({
      exitCode: 2,
      stderr: `cannoli: Tenet reads x86, x86_64 and 32-bit ARM traces; ${guestPath("aarch64", "regs")} is aarch64\n`,
    });
    const noDir = cannoli(["tenet", "--", guest]);
    expect({ exitCode: noDir.exitCode, stderr: noDir.stderr }).toEqual({ exitCode: 2, stderr: "cannoli: tenet needs -o DIR (where the per-thread traces go)\n" });
  });

  // A real program no one here wrote (Debian's static amd64 busybox), on
  // the patched QEMU 7.2: the trace loads, and the state it rebuilds before
  // every instruction is QEMU's own (-d cpu under -singlestep, same QEMU).
  test("busybox: every step's registers are QEMU's own state before that instruction", () => {
    const busybox = join(process.env.CANNOLI_CACHE ?? join(process.env.HOME ?? "/root", ".cache/cannoli"), "busybox/amd64/busybox");
    const dir = join(scratch, "busybox");
    const log = join(scratch, "busybox-cpu.log");
    const oracle = ["-singlestep", "-d", "cpu,nochain", "-D", log].flatMap((arg) => ["--qemu-arg", arg]);
    const run = cannoli(["tenet", "--quiet", "--backend", "patched", ...oracle, "-o", dir, "--", busybox, "echo", "tenet"]);
    expect({ stdout: run.stdout, exitCode: run.exitCode }).toEqual({ stdout: "tenet\n", exitCode: 0 });
    const files = readdirSync(dir);
    expect(files.length).toBe(1);
    const { steps } = replayTenet(readFileSync(join(dir, files[0]!), "utf8"), TENET_AMD64);
    const theirs = cpuLogStates(readFileSync(log, "utf8"), "x86_64");
    expect(steps.length).toBeGreaterThan(10_000);
    expect(steps.length).toBe(theirs.length);
    for (const [k, step] of steps.entries()) {
      const qemu = theirs[k]!;
      const differing = [...step.state].filter(([name, value]) => qemu.registers.get(name.toLowerCase()) !== value);
      expect({ k, ip: step.ip.toString(16), differing }).toEqual({ k, ip: qemu.pc.toString(16), differing: [] });
    }
  }, 60_000);
});
