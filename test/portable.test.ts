// SPDX-License-Identifier: MIT
//! The native pieces run on machines other than the one that built them:
//! the npm package and the single executable carry libraries built once, so
//! `zig build` targets the baseline x86-64 CPU and glibc 2.17's symbols
//! unless told otherwise. The decoder, built as the release is
//! (ReleaseFast, default target), runs a recorded chunk under QEMU's
//! `qemu64` CPU (no SSE4, no AVX); the same code built for x86-64-v3 (AVX2)
//! dies there, so the check can tell them apart.
import { beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { bunBinary, cliPath } from "./helpers/cannoli_run";
import { repoRoot } from "./helpers/oracle";
import { scratchDir } from "./helpers/scratch";

const dir = scratchDir("portable");
const chunks = join(dir, "chunks.bin");
/** Every instruction and memory column (BatchDecoder.Column bits 0-9). */
const wanted = "0x3ff";

function buildFillChunks(prefix: string, extra: string[] = []): string {
  const build = Bun.spawnSync([join(repoRoot, "scripts/zig.sh"), "build", "fill-chunks", "-Doptimize=ReleaseFast", "-p", prefix, ...extra], { cwd: repoRoot });
  expect(build.stderr.toString()).toBe("");
  expect(build.exitCode).toBe(0);
  return join(prefix, "bin", "fill-chunks");
}

function run(argv: string[]): { exitCode: number | null; signal: string | null; stdout: string } {
  // In the scratch directory: QEMU may leave a core file of the SIGILL there.
  const result = Bun.spawnSync(argv, { cwd: dir, stderr: "pipe" });
  return { exitCode: result.exitCode, signal: result.signalCode ? String(result.signalCode) : null, stdout: result.stdout.toString() };
}

beforeAll(() => {
  const recording = join(dir, "memops.cnl");
  const guest = join(repoRoot, "test/guests/build/aarch64/memops");
  const record = Bun.spawnSync([bunBinary, cliPath, "record", "-o", recording, "--quiet", "--tracer", "null", "--", guest], { stdout: "ignore" });
  expect(record.stderr.toString()).toBe("");
  expect(record.exitCode).toBe(0);
  const dump = Bun.spawnSync([bunBinary, join(repoRoot, "bench/micro/dump_chunks.ts"), recording, chunks]);
  expect(dump.exitCode).toBe(0);
}, 120_000);

test("the decoder as released runs on a baseline x86-64 CPU", () => {
  const fill = buildFillChunks(join(dir, "default"));
  const native = run([fill, chunks, wanted]);
  expect(native.exitCode).toBe(0);
  expect(native.stdout).toMatch(/^[1-9]\d* chunks, [1-9]\d* instructions, [1-9]\d* accesses, [1-9]\d* runs\n$/);
  const baseline = run(["qemu-x86_64", "-cpu", "qemu64", fill, chunks, wanted]);
  expect(baseline).toEqual(native);
}, 180_000);

test("a build for a newer CPU fails on the baseline one (the check has teeth)", () => {
  const fill = buildFillChunks(join(dir, "v3"), ["-Dcpu=x86_64_v3"]);
  expect(run([fill, chunks, wanted]).exitCode).toBe(0);
  expect(run(["qemu-x86_64", "-cpu", "qemu64", fill, chunks, wanted]).signal).toBe("SIGILL");
}, 180_000);

test("the libraries ask glibc for no symbol newer than 2.17", () => {
  for (const library of ["libcannoli_server.so", "libcannoli_consumer.so"]) {
    const symbols = Bun.spawnSync(["objdump", "-T", join(repoRoot, "zig-out/lib", library)]);
    expect(symbols.exitCode).toBe(0);
    const versions = [...symbols.stdout.toString().matchAll(/\(GLIBC_(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    expect(versions.length).toBeGreaterThan(0);
    expect(versions.filter(([major, minor]) => major > 2 || (major === 2 && minor > 17))).toEqual([]);
  }
});
