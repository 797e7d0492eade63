// SPDX-License-Identifier: MIT
//! Builds what the benchmarks need, only when it is missing or stale: the
//! Zig libraries and tools, dist/cannoli, the guests, Debian's busybox, and
//! QEMU's own plugins (execlog, insn); and finds the patched QEMU and stock
//! QEMU 10.0 (their scripts cache them).
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const repo = join(import.meta.dir, "../..");
export const cache = process.env.CANNOLI_CACHE ?? join(process.env.HOME ?? "/root", ".cache/cannoli");
export const cannoli = join(repo, "dist/cannoli");
export const oracles = join(cache, "oracles");
export const busyboxPath = (debianArch: string) => join(cache, "busybox", debianArch, "busybox");
export const guestPath = (arch: string, name: string) => join(repo, "test/guests/build", arch, name);

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const mtime = (path: string) => (existsSync(path) ? statSync(path).mtimeMs : 0);

function step(label: string, argv: string[], log: (line: string) => void): void {
  log(`build: ${label}`);
  const result = Bun.spawnSync(argv, { cwd: repo, stdout: "inherit", stderr: "inherit" });
  if (result.exitCode !== 0) throw new Error(`bench: ${label} failed (${argv.join(" ")})`);
}

export function prepare(log: (line: string) => void): void {
  const bun = join(repo, "node_modules/.bin/bun");
  const zigSources = newestMtime(join(repo, "zig-src"));
  if (mtime(join(repo, "zig-out/lib/libcannoli_server.so")) < zigSources || mtime(join(repo, "zig-out/bin/mempipe-producer")) < zigSources) {
    step("zig build -Doptimize=ReleaseFast", ["bash", "scripts/zig.sh", "build", "-Doptimize=ReleaseFast"], log);
  }
  const inputs = Math.max(newestMtime(join(repo, "src")), mtime(join(repo, "zig-out/lib/libcannoli_server.so")), mtime(join(repo, "zig-out/lib/libcannoli_consumer.so")));
  if (mtime(cannoli) < inputs) step("dist/cannoli", [bun, "scripts/build-executable.ts"], log);
  step("guests", ["bash", "scripts/build-guests.sh", "bench_nops", "bench_mem"], log);
  if (!existsSync(busyboxPath("arm64")) || !existsSync(busyboxPath("mipsel"))) step("busybox", ["bash", "scripts/fetch-busybox.sh"], log);
  if (!existsSync(join(oracles, "libexeclog.so")) || !existsSync(join(oracles, "libinsn.so"))) step("QEMU oracles", ["bash", "scripts/build-oracles.sh"], log);
}

/** Runs a QEMU build script (it builds, or reuses its cache) and returns the
 *  directory it prints last. Outside prepare(): --no-build still needs it. */
function qemuBuild(script: string, what: string, log: (line: string) => void): string {
  log(`build: ${what} (${script})`);
  const result = Bun.spawnSync(["bash", script], { cwd: repo, stderr: "inherit" });
  if (result.exitCode !== 0) throw new Error(`bench: ${script} failed`);
  return result.stdout.toString().trim().split("\n").at(-1)!;
}

/** The patched QEMU for the current patch series (cached by its hash). */
export const patchedQemuDir = (log: (line: string) => void) => qemuBuild("scripts/qemu-build.sh", "patched QEMU, cached by the series' hash", log);

/** Stock QEMU 10.0 (bin/) and its own plugins (plugins/; the oracles for 10.0). */
export const qemu10Dir = (log: (line: string) => void) => qemuBuild("scripts/qemu-stock-build.sh", "stock QEMU 10.0, cached", log);
