// SPDX-License-Identifier: MIT
//! `--tracer tail`: each thread's last N instructions and their accesses
//! must be, line for line, the end of what `print --symbols` writes for
//! that thread (its own full trace, checked against QEMU's plugins in
//! e2e.test.ts), across chunk boundaries, on a crash and with threads.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { elfSymbols, guestPath, repoRoot } from "./helpers/oracle";
import { scratchDir } from "./helpers/scratch";

const cli = join(repoRoot, "src/cli.ts");
const scratch = scratchDir("tail");
const busybox = join(homedir(), ".cache/cannoli/busybox/arm64/busybox");

function cannoli(args: string[]) {
  const run = Bun.spawnSync([process.execPath, cli, ...args], { cwd: scratch, stdin: "ignore" });
  return { exitCode: run.exitCode, stdout: run.stdout.toString(), stderr: run.stderr.toString() };
}

interface ThreadTail {
  header: string;
  /** Its lines without the thread's label. */
  lines: string[];
}

const withoutLabel = (line: string) => line.slice(line.indexOf(" ") + 1);

/** The tail tracer's output, by thread label. */
function tails(text: string): Map<string, ThreadTail> {
  const out = new Map<string, ThreadTail>();
  for (const line of text.split("\n").filter((l) => l !== "")) {
    const [label, rest] = [line.slice(0, line.indexOf(" ")), withoutLabel(line)];
    if (rest.startsWith("tail: ")) out.set(label, { header: rest, lines: [] });
    else out.get(label)!.lines.push(rest);
  }
  return out;
}

/** `print --symbols`'s threads, by label: their exec, read and write lines without the label. */
function printed(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    if (!/^\S+ (exec|read|write) /.test(line)) continue;
    const label = line.slice(0, line.indexOf(" "));
    if (!out.has(label)) out.set(label, []);
    out.get(label)!.push(withoutLabel(line));
  }
  return out;
}

/** The last `count` instructions of `lines`, with their accesses. */
function lastInstructions(lines: string[], count: number): string[] {
  let execs = 0;
  let at = lines.length;
  while (at > 0 && execs < count) if (lines[--at]!.startsWith("exec ")) execs++;
  return lines.slice(at);
}

/** Records `argv` once (`options` before it) and replays it twice, with
 *  print --symbols and with tail n=`count`: both see the same run (thread
 *  interleavings, stack canaries and tids differ from run to run). */
function recordAndReplay(name: string, argv: string[], count: number, options: string[] = []) {
  const recording = join(scratch, `${name}.cnl`);
  const printFile = join(scratch, `${name}-print.txt`);
  const tailFile = join(scratch, `${name}-tail.txt`);
  const stats = join(scratch, `${name}-stats.json`);
  cannoli(["record", "--quiet", ...options, "-o", recording, "--", ...argv]);
  expect(cannoli(["replay", recording, "--tracer", "print-symbols", "-o", printFile]).exitCode).toBe(0);
  expect(cannoli(["replay", recording, "--tracer", "tail", "--tracer-arg", `n=${count}`, "-o", tailFile, "--stats-json", stats]).exitCode).toBe(0);
  const perThread = (JSON.parse(readFileSync(stats, "utf8")) as { per_thread: { pid: number; tid: number; instructions: number }[] }).per_thread;
  return { print: printed(readFileSync(printFile, "utf8")), tail: tails(readFileSync(tailFile, "utf8")), perThread };
}

test("a crash: the last instructions, the faulting one last, as print writes them (patched backend)", () => {
  const guest = guestPath("aarch64", "crash");
  const { print, tail, perThread } = recordAndReplay("crash", [guest], 6, ["--backend", "patched"]);
  expect(tail.size).toBe(1);
  const [label, thread] = [...tail.entries()][0]!;
  expect(thread.header).toBe(`tail: the last 6 of ${perThread[0]!.instructions} instructions`);
  expect(thread.lines).toEqual(lastInstructions(print.get(label)!, 6));
  const crashHere = elfSymbols(guest).get("crash_here")!.value;
  expect(thread.lines.at(-1)).toMatch(new RegExp(`^exec 0x${crashHere.toString(16)} crash!main\\+0x[0-9a-f]+$`));
});

test("a real program: the tail spans chunks and keeps every access and value", { timeout: 60_000 }, () => {
  const { print, tail, perThread } = recordAndReplay("gzip", [busybox, "gzip", "-c", join(repoRoot, "LICENSE")], 100_000);
  const [label, thread] = [...tail.entries()][0]!;
  expect(perThread[0]!.instructions).toBeGreaterThan(150_000);
  expect(thread.header).toBe(`tail: the last 100000 of ${perThread[0]!.instructions} instructions`);
  const expected = lastInstructions(print.get(label)!, 100_000);
  expect(thread.lines.length).toBe(expected.length);
  expect(thread.lines).toEqual(expected);
});

test("threads: one tail per thread, each the end of that thread's trace", () => {
  const { print, tail, perThread } = recordAndReplay("threads", [guestPath("aarch64", "threads")], 40);
  expect(tail.size).toBe(5);
  for (const t of perThread) {
    const label = `${t.pid}:${t.tid}`;
    expect(tail.get(label)!.header).toBe(`tail: the last 40 of ${t.instructions} instructions`);
    expect(tail.get(label)!.lines).toEqual(lastInstructions(print.get(label)!, 40));
  }
});

test("a bad n is one line naming it, before the guest runs", () => {
  for (const n of ["0", "x", "100001"]) {
    const run = cannoli(["run", "--tracer", "tail", "--tracer-arg", `n=${n}`, "--", guestPath("aarch64", "loops")]);
    expect({ exitCode: run.exitCode, stdout: run.stdout, stderr: run.stderr }).toEqual({
      exitCode: 1,
      stdout: "",
      stderr: `cannoli: tracer handler init threw: tail: n=${n}: give a whole number from 1 to 100000\n`,
    });
  }
});
