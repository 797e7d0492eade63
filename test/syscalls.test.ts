// SPDX-License-Identifier: MIT
//! System call names: generated from the kernel's tables in QEMU's source
//! (checked by regenerating), right on known numbers of each architecture,
//! and defined for every syscall real guests make.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { syscallName } from "../src/tracer";
import { runCannoli } from "./helpers/cannoli_run";
import { ARCHES, guestPath, repoRoot } from "./helpers/oracle";

test("the generated table is what the kernel's tables in QEMU's source give", () => {
  const run = Bun.spawnSync([process.execPath, join(repoRoot, "scripts/gen-syscalls.ts"), "--check"]);
  expect(run.stderr.toString()).toBe("");
  expect(run.exitCode).toBe(0);
});

test("known numbers, per architecture", () => {
  const names = (arch: string, numbers: number[]) => numbers.map((n) => syscallName(arch, n));
  expect(names("aarch64", [63, 64, 93, 94, 222, 215])).toEqual(["read", "write", "exit", "exit_group", "mmap", "munmap"]);
  expect(names("riscv64", [93, 94, 222, 220])).toEqual(["exit", "exit_group", "mmap", "clone"]);
  expect(names("x86_64", [0, 9, 11, 60, 231])).toEqual(["read", "mmap", "munmap", "exit", "exit_group"]);
  expect(names("mipsel", [4003, 4090, 4091, 4246])).toEqual(["read", "mmap", "munmap", "exit_group"]);
  expect(names("mips", [4210])).toEqual(["mmap2"]);
  expect(names("arm", [1, 91, 192, 248])).toEqual(["exit", "munmap", "mmap2", "exit_group"]);
  expect(names("i386", [192, 252])).toEqual(["mmap2", "exit_group"]);
  expect(syscallName("aarch64", 100_000)).toBeUndefined();
  expect(syscallName("vax", 1)).toBeUndefined();
});

describe("every syscall a real guest makes has a name", () => {
  for (const arch of ARCHES) {
    test(
      arch,
      async () => {
        const run = await runCannoli(guestPath(arch, "threads"));
        const numbers = new Set([...run.trace.threads.values()].flatMap((t) => t.syscalls.map((s) => s.number)));
        expect(numbers.size).toBeGreaterThan(3);
        expect([...numbers].filter((n) => syscallName(arch, n) === undefined)).toEqual([]);
      },
      60_000,
    );
  }
});
