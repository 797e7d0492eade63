// SPDX-License-Identifier: MIT
//! Following exec: a guest's execve of a guest program (an ELF of its
//! machine, or a `#!` script whose interpreter is one) is traced as a new
//! process of the same run — same pid, `image` one higher — on both QEMUs
//! and both backends. The oracle: QEMU's own insn plugin, loaded into the
//! same QEMU and carried into every exec'd image with the rest of QEMU's
//! options, logging per pid (`-D log-%d`): each pid's log holds the count
//! of the program that pid ended in. What is not followed (a host program,
//! a missing file) behaves exactly as under plain QEMU.
import { describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runCannoli } from "./helpers/cannoli_run";
import { QEMUS, QEMU_7_2, type QemuUnderTest, guestPath, parseInsnOutput, repoRoot } from "./helpers/oracle";
import { scratchDir } from "./helpers/scratch";
import { syscallTableAliases, syscallTables } from "../src/syscalls/names.generated";
import { syscallName } from "../src/syscalls/syscall_names";

const cache = process.env.CANNOLI_CACHE ?? join(process.env.HOME ?? "/root", ".cache/cannoli");
const busybox = join(cache, "busybox", "arm64", "busybox");
const scratch = scratchDir("exec");
copyFileSync(guestPath("aarch64", "loops"), join(scratch, "loops"));
copyFileSync(guestPath("aarch64", "memops"), join(scratch, "memops"));
chmodSync(join(scratch, "loops"), 0o755);
chmodSync(join(scratch, "memops"), 0o755);
writeFileSync(join(scratch, "script.sh"), `#!${busybox} sh\necho script ran "$@"; exit 5\n`, { mode: 0o755 });
// No HOME: nothing may depend on it. Bun would write its transpiler cache there.
const env = { PATH: "/usr/bin:/bin", HOME: "/nonexistent", CANNOLI_CACHE: cache, BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" };
const TIMEOUT = 120_000;

/** Two guest programs from forked children, a script, then the shell's
 *  own process exec'd into a third program (the shell's last command). */
const shell = "./loops; echo loops=$?; ./memops; ./script.sh a b; echo script=$?; exec ./loops";
const shellStdout = /^loops ok 83438a9e\nloops=3\nbuf=0x[0-9a-f]+\nmemops ok\nscript ran a b\nscript=5\nloops ok 83438a9e\n$/;

interface Setup {
  name: string;
  q: QemuUnderTest;
  backend: "plugin" | "patched";
}
const setups: Setup[] = [...QEMUS.map((q) => ({ name: `plugin, QEMU ${q.name}`, q, backend: "plugin" as const })), { name: "patched, QEMU 7.2", q: QEMU_7_2, backend: "patched" }];

async function traceShell(setup: Setup, command: string, tag: string) {
  const logs = join(scratch, `logs-${tag}`);
  rmSync(logs, { recursive: true, force: true });
  Bun.spawnSync(["mkdir", "-p", logs]);
  const oracle = ["-plugin", setup.q.oracle("insn"), "-d", "plugin", "-D", join(logs, "log-%d")];
  const run = await runCannoli(busybox, ["sh", "-c", command], {
    cwd: scratch,
    env,
    qemu: setup.backend === "plugin" && setup.q !== QEMU_7_2 ? setup.q.binary("aarch64") : undefined,
    options: ["--backend", setup.backend, ...oracle.flatMap((arg) => ["--qemu-arg", arg])],
    timeoutMs: TIMEOUT,
  });
  const oracleCounts = new Map<number, number>();
  for (const file of readdirSync(logs)) {
    const totals = parseInsnOutput(readFileSync(join(logs, file), "utf8")).totals;
    if (totals.length === 1) oracleCounts.set(Number(file.slice("log-".length)), totals[0]!);
  }
  return { run, oracleCounts };
}

for (const setup of setups) {
  describe(`follow exec (${setup.name})`, () => {
    test(
      "sh -c runs two guest programs, a script and exec: each a new image of its pid, counts equal QEMU's",
      async () => {
        const { run, oracleCounts } = await traceShell(setup, shell, `${setup.q.name}-${setup.backend}`);
        expect(run.stderr).toBe("");
        expect(run.stdout).toMatch(shellStdout);
        expect(run.exitCode).toBe(3);
        expect(run.trace.errors).toEqual([]);
        const stats = run.stats!;
        // The shell and its three children, each in two programs.
        const images = new Map<number, number[]>();
        for (const thread of stats.per_thread) images.set(thread.pid, [...(images.get(thread.pid) ?? []), thread.image].sort());
        expect([...images.values()]).toEqual([
          [0, 1],
          [0, 1],
          [0, 1],
          [0, 1],
        ]);
        expect(stats.processes).toBe(8);
        // Each pid's last program against the insn plugin in that program's QEMU.
        const last = stats.per_thread.filter((t) => t.image === 1);
        expect(new Map(last.map((t) => [t.pid, t.instructions]))).toEqual(oracleCounts);
        // Every image's trace is whole: it ends with its exit (the images
        // that exec'd end at their execve).
        for (const thread of run.trace.threads.values()) expect({ key: thread.key, exited: thread.exited }).toEqual({ key: thread.key, exited: true });
        for (const thread of run.trace.threads.values()) {
          if (thread.image !== 0) continue;
          const execve = thread.syscalls.at(-1)!;
          if (thread.pid !== thread.tid) continue;
          expect(syscallName("aarch64", Number(execve.number))).toBe("execve");
          expect(execve.ret).toBeUndefined();
        }
      },
      TIMEOUT,
    );
  });
}

test("--symbols names the exec'd program's functions in its own image", async () => {
  const run = await runCannoli(busybox, ["sh", "-c", "exec ./loops"], { cwd: scratch, env, options: ["--symbols"], timeoutMs: TIMEOUT });
  expect(run.exitCode).toBe(3);
  const lines = run.traceText.split("\n");
  expect(lines.some((line) => /^\d+:\d+ exec 0x[0-9a-f]+ busybox/.test(line))).toBe(true);
  expect(lines.some((line) => /^\d+\.1:\d+ exec 0x[0-9a-f]+ loops!main\+0x/.test(line))).toBe(true);
  expect(lines.some((line) => /^\d+\.1:\d+ exec 0x[0-9a-f]+ busybox/.test(line))).toBe(false);
});

describe("exec that is not followed behaves as under plain QEMU", () => {
  for (const [what, command] of [
    ["a host program", "/bin/true; echo host=$?"],
    ["a missing file", "./nope; echo missing=$?"],
    ["a file that is not executable", "./loops.txt; echo noexec=$?"],
  ] as const) {
    test(what, async () => {
      writeFileSync(join(scratch, "loops.txt"), "not a program\n", { mode: 0o644 });
      const plain = Bun.spawnSync(["qemu-aarch64", busybox, "sh", "-c", command], { cwd: scratch, env });
      const run = await runCannoli(busybox, ["sh", "-c", command], { cwd: scratch, env, timeoutMs: TIMEOUT });
      expect({ stdout: run.stdout, stderr: run.stderr, exitCode: run.exitCode }).toEqual({
        stdout: plain.stdout.toString(),
        stderr: plain.stderr.toString(),
        exitCode: plain.exitCode,
      });
      expect(run.stats!.per_thread.every((t) => t.image === 0)).toBe(true);
    });
  }
});

test("the server's execve/execveat numbers are the kernel's (src/syscalls)", () => {
  const table = readFileSync(join(repoRoot, "zig-src/server/guest.zig"), "utf8");
  const generic = /const generic_exec = ExecSyscalls\{ \.execve = (\d+), \.execveat = (\d+) \}/.exec(table)!;
  let checked = 0;
  for (const line of table.split("\n")) {
    const name = /\.name = "([^"]+)"/.exec(line)?.[1];
    if (!name || !line.includes(".exec =")) continue;
    const own = /\.exec = \.\{ \.execve = (\d+), \.execveat = (\d+) \}/.exec(line);
    const [execve, execveat] = own ? [own[1], own[2]] : [generic[1], generic[2]];
    if (syscallTables[syscallTableAliases[name] ?? name] === undefined) continue;
    expect({ name, execve: syscallName(name, Number(execve)), execveat: syscallName(name, Number(execveat)) }).toEqual({ name, execve: "execve", execveat: "execveat" });
    checked++;
  }
  expect(checked).toBeGreaterThanOrEqual(6);
});
