// SPDX-License-Identifier: MIT
//! mmap/munmap events: reported when the guest's call returned, with the
//! mapped file's path; code later runs from inside the mappings they report.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { runCannoli } from "./helpers/cannoli_run";
import { repoRoot } from "./helpers/oracle";

describe.each(["aarch64", "mipsel", "x86_64"])("dynamic/%s", (arch) => {
  test("libc's mappings are reported with its path, and its code runs inside them", async () => {
    const run = await runCannoli(join(repoRoot, "test/guests/build", arch, "dynamic"));
    expect(run.trace.errors).toEqual([]);
    const [thread] = [...run.trace.threads.values()];
    const libc = thread!.maps.filter((m) => m.kind === "mmap" && /\/libc\.so/.test(m.path ?? ""));
    expect(libc.length).toBeGreaterThan(0);
    const inLibc = (pc: bigint) => libc.some((m) => pc >= m.addr && pc < m.addr + m.length);
    expect(thread!.insns.some((insn) => inLibc(insn.pc))).toBe(true);
    // Anonymous mappings carry fd -1 and no path.
    for (const map of thread!.maps.filter((m) => m.kind === "mmap" && m.fd === -1)) expect(map.path).toBeNull();
  });
});

test("threads/mipsel: thread stacks are mmapped, and munmapped addresses were mapped before", async () => {
  const run = await runCannoli(join(repoRoot, "test/guests/build/mipsel/threads"));
  expect(run.trace.errors).toEqual([]);
  const maps = [...run.trace.threads.values()].flatMap((t) => t.maps);
  const mapped = maps.filter((m) => m.kind === "mmap");
  expect(mapped.length).toBeGreaterThanOrEqual(4);
  for (const unmap of maps.filter((m) => m.kind === "munmap")) {
    expect(mapped.some((m) => unmap.addr >= m.addr && unmap.addr < m.addr + m.length)).toBe(true);
  }
});
