// SPDX-License-Identifier: MIT
//! Reads just enough of a guest ELF to pick `qemu-<arch>` and to tell a
//! dynamically linked program (PT_INTERP) from a static one.
import { accessSync, closeSync, constants, openSync, readSync, statSync } from "node:fs";

export interface GuestElf {
  /** QEMU's target name, as in qemu-<arch>. */
  arch: string;
  bits: 32 | 64;
  bigEndian: boolean;
  /** The program interpreter (dynamic loader) path, if any. */
  interpreter: string | null;
}

export class ElfError extends Error {}

const EM = { i386: 3, m68k: 4, mips: 8, ppc: 20, ppc64: 21, s390: 22, arm: 40, sh: 42, sparcv9: 43, x86_64: 62, aarch64: 183, riscv: 243, loongarch: 258 } as const;
const EF_MIPS_ABI2 = 0x20;
const PT_INTERP = 3;

function archOf(machine: number, bits: 32 | 64, bigEndian: boolean, flags: number): string | null {
  switch (machine) {
    case EM.i386:
      return "i386";
    case EM.x86_64:
      return "x86_64";
    case EM.aarch64:
      return bigEndian ? "aarch64_be" : "aarch64";
    case EM.arm:
      return bigEndian ? "armeb" : "arm";
    case EM.riscv:
      return bits === 64 ? "riscv64" : "riscv32";
    case EM.mips:
      if (bits === 64) return bigEndian ? "mips64" : "mips64el";
      if (flags & EF_MIPS_ABI2) return bigEndian ? "mipsn32" : "mipsn32el";
      return bigEndian ? "mips" : "mipsel";
    case EM.ppc:
      return "ppc";
    case EM.ppc64:
      return bigEndian ? "ppc64" : "ppc64le";
    case EM.s390:
      return "s390x";
    case EM.sparcv9:
      return "sparc64";
    case EM.m68k:
      return "m68k";
    case EM.sh:
      return bigEndian ? "sh4eb" : "sh4";
    case EM.loongarch:
      return "loongarch64";
    default:
      return null;
  }
}

export function readGuestElf(path: string | Buffer): GuestElf {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    const found = typeof path === "string" && !path.includes("/") ? onSearchPath(path) : undefined;
    // Like QEMU, cannoli runs the file it is given; a bare name that the
    // shell would find in PATH gets its path suggested.
    throw new ElfError(`cannoli: guest ${path} does not exist${found ? ` (to trace ${found}, give its path)` : ""}`);
  }
  if (!stat.isFile()) throw new ElfError(`cannoli: guest ${path} is not a file`);
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (error) {
    throw new ElfError(`cannoli: guest ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? error}`);
  }
  try {
    const header = Buffer.alloc(64);
    const got = readSync(fd, header, 0, 64, 0);
    if (got < 52 || header.readUInt32BE(0) !== 0x7f454c46) throw new ElfError(`cannoli: guest ${path} is not an ELF file`);
    const bits = header[4] === 2 ? 64 : header[4] === 1 ? 32 : null;
    const bigEndian = header[5] === 2;
    if (bits === null || (header[5] !== 1 && header[5] !== 2)) throw new ElfError(`cannoli: guest ${path} has a malformed ELF header`);
    const u16 = (at: number) => (bigEndian ? header.readUInt16BE(at) : header.readUInt16LE(at));
    const u32 = (at: number) => (bigEndian ? header.readUInt32BE(at) : header.readUInt32LE(at));
    const u64 = (at: number) => Number(bigEndian ? header.readBigUInt64BE(at) : header.readBigUInt64LE(at));
    const machine = u16(18);
    const flags = bits === 64 ? u32(48) : u32(36);
    const arch = archOf(machine, bits, bigEndian, flags);
    if (!arch) throw new ElfError(`cannoli: guest ${path} is for an unsupported architecture (ELF machine ${machine})`);
    const phoff = bits === 64 ? u64(32) : u32(28);
    const phentsize = u16(bits === 64 ? 54 : 42);
    const phnum = u16(bits === 64 ? 56 : 44);
    let interpreter: string | null = null;
    const entry = Buffer.alloc(phentsize);
    for (let i = 0; i < Math.min(phnum, 256); i++) {
      if (readSync(fd, entry, 0, phentsize, phoff + i * phentsize) !== phentsize) break;
      const read32 = (at: number) => (bigEndian ? entry.readUInt32BE(at) : entry.readUInt32LE(at));
      if (read32(0) !== PT_INTERP) continue;
      const offset = bits === 64 ? Number(bigEndian ? entry.readBigUInt64BE(8) : entry.readBigUInt64LE(8)) : read32(4);
      const size = bits === 64 ? Number(bigEndian ? entry.readBigUInt64BE(32) : entry.readBigUInt64LE(32)) : read32(16);
      const text = Buffer.alloc(Math.min(size, 4096));
      readSync(fd, text, 0, text.length, offset);
      interpreter = text.toString("latin1").replace(/\0.*$/s, "");
    }
    // QEMU 7.2 exits 1 without a word for a guest it may not execute.
    if (!isExecutable(path)) throw new ElfError(`cannoli: guest ${path} is not executable (chmod +x it)`);
    return { arch, bits, bigEndian, interpreter };
  } finally {
    closeSync(fd);
  }
}

/** `path` may be executed by this process (access(2) X_OK). */
export function isExecutable(path: string | Buffer): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Debian's cross sysroot directory for an arch (/usr/<gnu-triple>). */
export const debianTriples: Record<string, string> = {
  aarch64: "aarch64-linux-gnu",
  arm: "arm-linux-gnueabihf",
  mipsel: "mipsel-linux-gnu",
  mips: "mips-linux-gnu",
  mips64el: "mips64el-linux-gnuabi64",
  riscv64: "riscv64-linux-gnu",
  x86_64: "x86_64-linux-gnu",
  i386: "i686-linux-gnu",
  ppc64le: "powerpc64le-linux-gnu",
  s390x: "s390x-linux-gnu",
};

/** Where `name` is in PATH as an executable file, as a shell finds it. */
function onSearchPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir === "") continue;
    const candidate = `${dir}/${name}`;
    try {
      if (statSync(candidate).isFile() && isExecutable(candidate)) return candidate;
    } catch {
      // Not there: the next directory.
    }
  }
  return undefined;
}
