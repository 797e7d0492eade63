// SPDX-License-Identifier: MIT
//! `cannoli cov`: drcov and modoff output checked with a parser written from
//! the format's description (helpers/drcov.ts), against what a `print` run
//! of the same guest executed; module splitting; a guest killed by a signal;
//! Debian's busybox.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { encodeDrcov } from "../src/coverage/drcov_writer";
import { ElfImage } from "../src/symbols/elf_image";
import { blockRanges, parseDrcov } from "./helpers/drcov";
import { runCannoli } from "./helpers/cannoli_run";
import { guestEnv, guestPath, repoRoot } from "./helpers/oracle";
import { scratchDir } from "./helpers/scratch";

const scratch = scratchDir("cov");

function cov(out: string, guest: string[], options: string[] = []) {
  const proc = Bun.spawnSync([process.execPath, join(repoRoot, "src/cli.ts"), "cov", "--quiet", "-o", out, ...options, "--", ...guest], { env: guestEnv(), cwd: scratch });
  return { exitCode: proc.exitCode, stderr: proc.stderr.toString(), data: existsSync(out) ? new Uint8Array(readFileSync(out)) : null };
}

describe("drcov writer", () => {
  const modules = [
    { path: "/bin/small", start: 0x400000, end: 0x401000, entry: 0x400100, fileOffsetOf: () => 0, blocks: [{ start: 0x400100, bytes: 8 }] },
    // entries of 0x1000 bytes in this test: 0x2800 bytes → 3 entries; a block crossing 0x7000_1000 is cut.
    {
      path: "/lib/big, with comma.so",
      start: 0x7000_0000,
      end: 0x7000_2800,
      entry: 0,
      fileOffsetOf: (a: number) => a - 0x7000_0000,
      blocks: [
        { start: 0x7000_0ff8, bytes: 0x10 },
        { start: 0x7000_2400, bytes: 4 },
      ],
    },
  ];

  test("version 2: drcov flavor, one entry per module, blocks past the entry limit left out and counted", () => {
    const { bytes, blocksLeftOut } = encodeDrcov(modules, 2, 0x1000);
    const file = parseDrcov(bytes);
    expect({ version: file.version, flavor: file.flavor, moduleTableVersion: file.moduleTableVersion }).toEqual({ version: 2, flavor: "drcov-cannoli", moduleTableVersion: 4 });
    expect(file.modules.map((m) => [m.id, m.containingId, m.start, m.end, m.offset, m.path])).toEqual([
      [0, 0, 0x400000n, 0x401000n, 0n, "/bin/small"],
      [1, 1, 0x7000_0000n, 0x7000_2800n, 0n, "/lib/big, with comma.so"],
    ]);
    // The crossing block keeps its part below the limit; the one at 0x2400 cannot be said.
    expect(file.blocks).toEqual([
      { start: 0x100, size: 8, moduleId: 0 },
      { start: 0xff8, size: 8, moduleId: 1 },
    ]);
    expect(blocksLeftOut).toBe(2);
  });

  test("version 3: header, module table version 4, binary blocks; a module larger than an entry is split", () => {
    const { bytes: data, blocksLeftOut } = encodeDrcov(modules, 3, 0x1000);
    expect(blocksLeftOut).toBe(0);
    const file = parseDrcov(data);
    expect({ version: file.version, flavor: file.flavor }).toEqual({ version: 3, flavor: "drcov-cannoli" });
    expect(file.moduleTableVersion).toBe(4);
    expect(file.columns).toEqual(["id", "containing_id", "start", "end", "entry", "offset", "path"]);
    expect(file.modules.map((m) => [m.id, m.containingId, m.start, m.end, m.offset, m.path])).toEqual([
      [0, 0, 0x400000n, 0x401000n, 0n, "/bin/small"],
      [1, 1, 0x7000_0000n, 0x7000_1000n, 0n, "/lib/big, with comma.so"],
      [2, 1, 0x7000_1000n, 0x7000_2000n, 0x1000n, "/lib/big, with comma.so"],
      [3, 1, 0x7000_2000n, 0x7000_2800n, 0x2000n, "/lib/big, with comma.so"],
    ]);
    expect(file.blocks).toEqual([
      { start: 0x100, size: 8, moduleId: 0 },
      { start: 0xff8, size: 8, moduleId: 1 },
      { start: 0, size: 8, moduleId: 2 },
      { start: 0x400, size: 4, moduleId: 3 },
    ]);
    for (const r of blockRanges(file)) expect(r.end <= r.module.end).toBe(true);
  });
});

describe.each([
  ["mipsel", "loops"],
  ["aarch64", "loops"],
  ["riscv64", "memops"],
  ["x86_64", "loops"],
  ["aarch64", "threads"],
  ["x86_64", "dynamic"],
  ["mipsel", "dynamic"],
])("%s/%s", (arch, name) => {
  test("every PC a print run executed lies in a drcov block; the table covers the guest", async () => {
    const guest = guestPath(arch as "mipsel", name);
    const out = join(scratch, `${arch}-${name}.drcov`);
    const result = cov(out, [guest]);
    expect(result.stderr).toBe("");
    const file = parseDrcov(result.data!);
    expect(file.modules[0]!.path).toBe(guest);
    expect(file.blocks.length).toBeGreaterThan(50);
    const ranges = blockRanges(file).sort((a, b) => (a.start < b.start ? -1 : 1));
    for (const r of ranges) expect(r.start >= r.module.start && r.end <= r.module.end).toBe(true);
    const executed = async () => {
      const run = await runCannoli(guest);
      return new Set([...run.trace.threads.values()].flatMap((t) => t.insns.map((i) => i.pc)));
    };
    let pcs = await executed();
    if (name === "threads") {
      // Keep the PCs two runs agree on: lock-contention paths come and go.
      const again = await executed();
      pcs = new Set([...pcs].filter((pc) => again.has(pc)));
    }
    const inModule = [...pcs].filter((pc) => file.modules.some((m) => pc >= m.start && pc < m.end));
    expect(inModule.length / pcs.size).toBeGreaterThan(0.99);
    const missing = inModule.filter((pc) => {
      let lo = 0;
      let hi = ranges.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (ranges[mid]!.start <= pc) lo = mid + 1;
        else hi = mid - 1;
      }
      // Blocks can overlap (a block entered in its middle first): look back a little.
      for (let i = hi; i >= 0 && i > hi - 64; i--) if (pc < ranges[i]!.end && pc >= ranges[i]!.start) return false;
      return true;
    });
    if (name === "threads") {
      // The coverage run is a third run of a threaded guest: a contention
      // path both print runs took may still be missed by it. Most must agree.
      expect(missing.length / inModule.length).toBeLessThan(0.05);
    } else {
      expect(missing.map((pc) => `0x${pc.toString(16)}`)).toEqual([]);
    }
  });
});

/** Instruction sizes from an independent source: binutils' disassembly
 *  (x86), the RISC-V length rule on the file's bytes (low two bits 0b11:
 *  4 bytes, else a 2-byte compressed instruction). */
function instructionSizes(arch: string, guest: string): (pc: number) => number {
  if (arch === "x86_64") {
    const listing = Bun.spawnSync(["objdump", "-d", "--insn-width=16", guest]).stdout.toString();
    const sizes = new Map([...listing.matchAll(/^ +([0-9a-f]+):\t((?:[0-9a-f]{2} )+)/gm)].map((m) => [parseInt(m[1]!, 16), m[2]!.length / 3]));
    return (pc) => sizes.get(pc) ?? 0;
  }
  const elf = ElfImage.tryRead(guest)!;
  return (pc) => {
    const load = elf.loads.find((l) => pc >= l.vaddr && pc < l.vaddr + l.fileBytes);
    return load ? ((elf.bytes[load.fileOffset + pc - load.vaddr]! & 3) === 3 ? 4 : 2) : 0;
  };
}

describe.each([
  ["x86_64", "loops"],
  ["x86_64", "memops"],
  ["riscv64", "memops"],
])("%s/%s, variable-width instructions", (arch, name) => {
  test("every drcov block is whole instructions that all ran: it ends where its last instruction ends", async () => {
    const guest = guestPath(arch as "x86_64", name);
    const out = join(scratch, `${arch}-${name}-exact.drcov`);
    const result = cov(out, [guest]);
    expect(result.stderr).toBe("");
    const file = parseDrcov(result.data!);
    const run = await runCannoli(guest);
    const executed = new Set([...run.trace.threads.values()].flatMap((t) => t.insns.map((i) => i.pc)));
    const sizeOf = instructionSizes(arch, guest);
    const wrong: string[] = [];
    const own = blockRanges(file).filter((r) => r.module.path === guest);
    expect(own.length).toBeGreaterThan(50);
    for (const block of own) {
      let pc = Number(block.start);
      const end = Number(block.end);
      while (pc < end && executed.has(BigInt(pc)) && sizeOf(pc) > 0) pc += sizeOf(pc);
      if (pc !== end) wrong.push(`[0x${block.start.toString(16)}, 0x${block.end.toString(16)}) stops at 0x${pc.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });
});

test("modoff: module+0xoffset lines, one per block", () => {
  const out = join(scratch, "loops.modoff");
  const result = cov(out, [guestPath("aarch64", "loops")], ["--format", "modoff"]);
  expect(result.stderr).toBe("");
  const lines = Buffer.from(result.data!).toString().trim().split("\n");
  expect(lines.length).toBeGreaterThan(50);
  for (const line of lines) expect(line).toMatch(/^loops\+0x[0-9a-f]+$/);
});

const busybox = join(homedir(), ".cache/cannoli/busybox/arm64/busybox");

describe.skipIf(!existsSync(busybox))("busybox arm64", () => {
  test("coverage of a real program", () => {
    const out = join(scratch, "busybox.drcov");
    const result = cov(out, [busybox, "sh", "-c", "echo hi | tr a-z A-Z"]);
    expect(result.exitCode).toBe(0);
    const file = parseDrcov(result.data!);
    expect(file.modules.map((m) => m.path)).toContain(busybox);
    expect(file.blocks.length).toBeGreaterThan(500);
  });

  test("a guest killed by a signal still gets its coverage file", () => {
    const out = join(scratch, "killed.drcov");
    const result = cov(out, [busybox, "sh", "-c", "echo hi; kill -SEGV $$"]);
    expect(result.exitCode).toBe(128 + 11);
    expect(result.stderr).toContain("died of SIGSEGV");
    const file = parseDrcov(result.data!);
    expect(file.modules[0]!.path).toBe(busybox);
    expect(file.blocks.length).toBeGreaterThan(100);
  });
});

test("cov --help has an example; -o is required", () => {
  const help = Bun.spawnSync([process.execPath, join(repoRoot, "src/cli.ts"), "cov", "--help"]);
  expect(help.stdout.toString()).toMatch(/example:\n\s+cannoli cov -o /);
  const bad = Bun.spawnSync([process.execPath, join(repoRoot, "src/cli.ts"), "cov", "--", guestPath("aarch64", "loops")]);
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr.toString()).toContain("cov needs -o FILE");
});

test("cov --drcov-version 3 writes a version 3 file; other versions are refused", () => {
  const out = join(scratch, "v3.drcov");
  const result = cov(out, [guestPath("aarch64", "loops")], ["--drcov-version", "3"]);
  expect(result.stderr).toBe("");
  expect(parseDrcov(result.data!).version).toBe(3);
  const bad = cov(join(scratch, "v4.drcov"), [guestPath("aarch64", "loops")], ["--drcov-version", "4"]);
  expect({ exitCode: bad.exitCode, stderr: bad.stderr }).toEqual({ exitCode: 2, stderr: "cannoli: --drcov-version 4: use 2 or 3\n" });
});

test("a guest mapping 1 GiB of /dev/zero: coverage reads no device (fast, small)", () => {
  const out = join(scratch, "mapdev.drcov");
  // GNU time measures this run's tree alone (a test process's own rusage
  // of its children holds the largest child it ever waited for).
  const rss = join(scratch, "mapdev.rss");
  const proc = Bun.spawnSync(
    ["/usr/bin/time", "-f", "%M", "-o", rss, process.execPath, join(repoRoot, "src/cli.ts"), "cov", "--quiet", "-o", out, "--", guestPath("aarch64", "mapdev" as "loops")],
    { env: guestEnv(), cwd: scratch },
  );
  expect({ stderr: proc.stderr.toString(), stdout: proc.stdout.toString(), exitCode: proc.exitCode }).toEqual({ stderr: "", stdout: "mapdev ok 0\n", exitCode: 0 });
  expect(parseDrcov(new Uint8Array(readFileSync(out))).modules.map((m) => m.path)).not.toContain("/dev/zero");
  // Reading the device whole took gigabytes; the run itself needs ~100 MB.
  expect(Number(readFileSync(rss, "utf8").trim())).toBeLessThan(600 * 1024);
}, 60_000);
