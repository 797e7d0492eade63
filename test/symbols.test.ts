// SPDX-License-Identifier: MIT
//! Symbols: the ELF reader (32/64-bit, both byte orders), the symbolizer's
//! module map (static executables, libraries from mmap events, the loader
//! placed from the first PC, stripped files), and `print --symbols`.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ElfImage } from "../src/symbols/elf_image";
import { readFunctionIndex } from "../src/symbols/elf_symbols";
import { FunctionIndex } from "../src/symbols/function_index";
import { Symbolizer } from "../src/symbols/symbolizer";
import type { ThreadInfo } from "../src/tracer";
import { runCannoli } from "./helpers/cannoli_run";
import { guestPath, repoRoot } from "./helpers/oracle";
import { parseTrace } from "./helpers/trace_text";

const thread = (exe: string, arch: string, pid = 100, ppid = 1): ThreadInfo => ({
  pid,
  ppid,
  tid: pid,
  image: 0,
  arch,
  pointerBytes: 8,
  bigEndian: false,
  exe,
  comm: "t",
  backend: "plugin",
  registers: [],
});

/** A minimal big-endian ELF32 (MIPS) with one PT_LOAD and a .symtab, built
 *  by hand: no big-endian guest is built here. */
function tinyBigEndianElf(): Uint8Array {
  const out = new Uint8Array(0x200);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 2, 1], 0); // ELF32, big-endian
  v.setUint16(16, 2); // ET_EXEC
  v.setUint16(18, 8); // EM_MIPS
  v.setUint32(24, 0x400100); // entry
  v.setUint32(28, 0x34); // phoff
  v.setUint32(32, 0x80); // shoff
  v.setUint16(42, 32); // phentsize
  v.setUint16(44, 1); // phnum
  v.setUint16(46, 40); // shentsize
  v.setUint16(48, 4); // shnum
  v.setUint16(50, 3); // shstrndx
  // PT_LOAD: offset 0, vaddr 0x400000, 0x200 bytes, R+X
  [1, 0, 0x400000, 0x400000, 0x200, 0x200, 5, 0x1000].forEach((x, i) => v.setUint32(0x34 + i * 4, x));
  // sections: 0 null, 1 .symtab (link 2), 2 .strtab, 3 .shstrtab
  const section = (i: number, name: number, type: number, offset: number, size: number, link: number, entsize: number) =>
    [name, type, 0, 0, offset, size, link, 0, 0, entsize].forEach((x, k) => v.setUint32(0x80 + i * 40 + k * 4, x));
  section(1, 1, 2, 0x140, 48, 2, 16);
  section(2, 9, 3, 0x170, 16, 0, 0);
  section(3, 17, 3, 0x180, 32, 0, 0);
  // symbol 1: "main" at 0x400100, 0x20 bytes, STT_FUNC global, shndx 1; symbol 2: "helper" (Thumb/microMIPS bit set)
  v.setUint32(0x150, 1);
  v.setUint32(0x154, 0x400100);
  v.setUint32(0x158, 0x20);
  out[0x15c] = 0x12;
  v.setUint16(0x15e, 1);
  v.setUint32(0x160, 6);
  v.setUint32(0x164, 0x400121);
  v.setUint32(0x168, 0x10);
  out[0x16c] = 0x02;
  v.setUint16(0x16e, 1);
  out.set(Buffer.from("\0main\0helper\0"), 0x170);
  out.set(Buffer.from("\0.symtab\0.strtab\0.shstrtab\0"), 0x180);
  return out;
}

describe("ELF reader", () => {
  test("a big-endian ELF32: header, PT_LOAD, .symtab, mode bit cleared", () => {
    const elf = ElfImage.parse(tinyBigEndianElf());
    expect(elf.bits).toBe(32);
    expect(elf.bigEndian).toBe(true);
    expect(elf.entry).toBe(0x400100);
    expect(elf.loadSpan).toEqual({ low: 0x400000, high: 0x400200 });
    expect(elf.sections.map((s) => s.name)).toEqual(["", ".symtab", ".strtab", ".shstrtab"]);
    const functions = readFunctionIndex(elf);
    expect(functions.lookup(0x400104)?.name).toBe("main");
    expect(functions.lookup(0x400120)?.name).toBe("helper");
    expect(functions.lookup(0x400130)).toBeNull();
  });

  test.each(["mipsel", "aarch64", "riscv64", "x86_64"])("static %s guest: main is a sized function in .symtab", (arch) => {
    const elf = ElfImage.parse(readFileSync(guestPath(arch as "mipsel", "loops")));
    expect(elf.bits).toBe(arch === "mipsel" ? 32 : 64);
    const functions = readFunctionIndex(elf);
    expect(functions.size).toBeGreaterThan(10);
    const main = elf.sections.some((s) => s.name === ".symtab");
    expect(main).toBe(true);
  });

  test("function index: nested symbols, unsized symbols run to the next one", () => {
    const index = new FunctionIndex([
      { name: "outer", addr: 0x100, bytes: 0x100 },
      { name: "inner", addr: 0x140, bytes: 0x10 },
      { name: "label", addr: 0x300, bytes: 0 },
    ]);
    expect(index.lookup(0x145)?.name).toBe("inner");
    expect(index.lookup(0x160)?.name).toBe("outer");
    expect(index.lookup(0x350)?.name).toBe("label");
    expect(index.lookup(0x50)).toBeNull();
  });
});

describe("symbolizer", () => {
  test("static executable: main resolves, outside is null", () => {
    const exe = guestPath("aarch64", "loops");
    const elf = ElfImage.parse(readFileSync(exe));
    const main = readFunctionIndex(elf);
    const symbols = new Symbolizer().process(thread(exe, "aarch64"));
    // Find main's address by name through the symbolizer's own reader.
    let mainAddr = -1;
    for (let pc = elf.loadSpan.low; pc < elf.loadSpan.high && mainAddr < 0; pc += 4) if (main.lookup(pc)?.name === "main" && main.lookup(pc - 4)?.name !== "main") mainAddr = pc;
    expect(mainAddr).toBeGreaterThan(0);
    expect(symbols.symbolize(mainAddr + 8)).toBe("loops!main+0x8");
    expect(symbols.symbolize(0x10)).toBeNull();
  });

  test("libraries from mmap events, PIE bias, munmap, fork copies the map", () => {
    const exe = guestPath("x86_64", "dynamic");
    const libc = "/lib/x86_64-linux-gnu/libc.so.6";
    if (!existsSync(libc)) return;
    const symbolizer = new Symbolizer();
    const parent = symbolizer.process(thread(exe, "x86_64"));
    parent.mmap({ addr: 0x7000_0000_0000, length: 0x200000, offset: 0, prot: 5, flags: 2, fd: 3, path: libc });
    const where = parent.symbolize(0x7000_0000_0000 + 0x30000);
    expect(where).toMatch(/^libc\.so\.6(!|\+0x)/);
    const child = symbolizer.process(thread(exe, "x86_64", 101, 100));
    expect(child.symbolize(0x7000_0000_0000 + 0x30000)).toBe(where);
    parent.munmap({ addr: 0x7000_0000_0000, length: 0x300000 });
    // Retired modules still answer late lookups.
    expect(parent.symbolize(0x7000_0000_0000 + 0x30000)).toBe(where);
    expect(parent.modules.find((m) => m.name === "libc.so.6")?.bias).toBe(0x7000_0000_0000);
  });

  test("enter(firstPc) places the loader whatever is symbolized first", () => {
    const exe = guestPath("aarch64", "dynamic");
    const loader = ElfImage.tryRead("/lib/ld-linux-aarch64.so.1")!;
    expect(loader).not.toBeNull();
    const bias = 0x55_0080_0000;
    const inside = bias + loader.entry + 0x40;
    // Without it, a PC that is not the entry, looked up first, places nothing.
    const implicit = new Symbolizer().process(thread(exe, "aarch64"));
    expect(implicit.symbolize(inside)).toBeNull();
    const explicit = new Symbolizer().process(thread(exe, "aarch64"));
    explicit.enter(bias + loader.entry);
    expect(explicit.symbolize(inside)).toMatch(/^ld-linux-aarch64\.so\.1(!\w+)?\+0x[0-9a-f]+$/);
    expect(explicit.modules.find((m) => m.name === "ld-linux-aarch64.so.1")?.bias).toBe(bias);
  });

  test("stripped busybox falls back to module+0xoff", () => {
    const busybox = join(homedir(), ".cache/cannoli/busybox/arm64/busybox");
    if (!existsSync(busybox)) return;
    const elf = ElfImage.parse(readFileSync(busybox));
    const symbols = new Symbolizer().process(thread(busybox, "aarch64"));
    const start = elf.loadSpan.low;
    expect(symbols.symbolize(elf.entry)).toBe(`busybox+0x${(elf.entry - start).toString(16)}`);
  });
});

describe("print --symbols", () => {
  test.each(["mipsel", "aarch64", "riscv64", "x86_64"])("static %s: main is named on exec lines", async (arch) => {
    const run = await runCannoli(guestPath(arch as "mipsel", "loops"), [], { options: ["--symbols"] });
    expect(run.stderr).not.toContain("cannoli:");
    expect(run.traceText).toMatch(/^\d+:\d+ exec 0x[0-9a-f]+ loops!main\+0x0$/m);
    // With the symbols taken off, the output is the default format.
    expect(parseTrace(run.traceText.replace(/^(\d+:\d+ exec 0x[0-9a-f]+) \S+$/gm, "$1")).errors).toEqual([]);
  });

  test.each(["aarch64", "mipsel", "x86_64"])("dynamic %s: libc functions and the loader resolve", async (arch) => {
    const run = await runCannoli(guestPath(arch as "mipsel", "dynamic"), [], { options: ["--symbols"] });
    expect(run.stderr).not.toContain("cannoli:");
    const symbols = [...run.traceText.matchAll(/ exec 0x[0-9a-f]+ (\S+)$/gm)].map((m) => m[1]!);
    expect(symbols.some((s) => /^libc\.so\.6!\w+\+0x[0-9a-f]+$/.test(s))).toBe(true);
    expect(symbols.some((s) => /^dynamic!main\+0x/.test(s))).toBe(true);
    expect(symbols.some((s) => /^ld[-.]/.test(s))).toBe(true);
    // Nearly every executed PC lies in a module.
    const execs = run.traceText.match(/ exec 0x/g)?.length ?? 0;
    expect(symbols.length / execs).toBeGreaterThan(0.99);
  });

  test("--symbols needs --tracer print", async () => {
    const proc = Bun.spawnSync([process.execPath, join(repoRoot, "src/cli.ts"), "run", "--symbols", "--", guestPath("aarch64", "loops")]);
    expect(proc.exitCode).toBe(2);
    expect(proc.stderr.toString()).toContain("--symbols works with --tracer print");
  });
});
