// SPDX-License-Identifier: MIT
//! The guest programs the harness runs, with their inputs: full size, the
//! `--quick` size, and the small size for QEMU's own (slow) text loggers.
import { mkdirSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { busyboxPath, guestPath } from "./prepare";

export interface Workload {
  id: string;
  /** Shown in tables. */
  label: string;
  /** QEMU's target name. */
  arch: "mipsel" | "aarch64";
  /** Guest argv at the measured size. */
  argv: string[];
  /** Guest argv at the small size used for execlog and -d exec,nochain. */
  smallArgv: string[];
  /** Whether the PC + memory configurations are worth running. */
  memory: boolean;
}

export interface Sizes {
  nopIterations: number;
  memIterations: number;
  gzipMiB: number;
  shaMiB: number;
  /** Busybox runs on both arm64 and mipsel, or arm64 only. */
  busyboxArchs: ("arm64" | "mipsel")[];
}

export const fullSizes: Sizes = { nopIterations: 10_000_000, memIterations: 5_000_000, gzipMiB: 2, shaMiB: 4, busyboxArchs: ["arm64", "mipsel"] };
export const quickSizes: Sizes = { nopIterations: 2_000_000, memIterations: 1_000_000, gzipMiB: 1, shaMiB: 1, busyboxArchs: ["arm64"] };
const smallNopIterations = 20_000;
const smallMemIterations = 20_000;
const smallInputKiB = 16;

/** Base64 of random bytes: text that gzip compresses by about a quarter. */
function textFile(dir: string, name: string, bytes: number): string {
  const path = join(dir, name);
  if (existsSync(path)) return path;
  const random = new Uint8Array(Math.ceil((bytes * 3) / 4));
  for (let at = 0; at < random.length; at += 65536) crypto.getRandomValues(random.subarray(at, Math.min(at + 65536, random.length)));
  const text = Buffer.from(random)
    .toString("base64")
    .slice(0, bytes)
    .replace(/(.{76})/g, "$1\n");
  writeFileSync(path, text);
  return path;
}

export function workloads(sizes: Sizes, scratch: string): Workload[] {
  mkdirSync(scratch, { recursive: true });
  const input = (kind: string, mib: number) => textFile(scratch, `${kind}-${mib}M.txt`, mib * (1 << 20));
  const smallInput = textFile(scratch, `small-${smallInputKiB}K.txt`, smallInputKiB << 10);
  const list: Workload[] = [
    {
      id: "nops",
      label: `mipsel nop loop (${sizes.nopIterations / 1e6} M × 64 nops)`,
      arch: "mipsel",
      argv: [guestPath("mipsel", "bench_nops"), String(sizes.nopIterations)],
      smallArgv: [guestPath("mipsel", "bench_nops"), String(smallNopIterations)],
      memory: false,
    },
    {
      id: "mem",
      label: `mipsel bench_mem (${sizes.memIterations / 1e6} M iterations)`,
      arch: "mipsel",
      argv: [guestPath("mipsel", "bench_mem"), String(sizes.memIterations)],
      smallArgv: [guestPath("mipsel", "bench_mem"), String(smallMemIterations)],
      memory: true,
    },
  ];
  for (const debianArch of sizes.busyboxArchs) {
    const arch = debianArch === "arm64" ? "aarch64" : "mipsel";
    const busybox = busyboxPath(debianArch);
    // mipsel busybox runs about twice the instructions per byte (and the
    // per-event handler takes ~17 s per 2 MiB gzip there): half the input.
    const scale = debianArch === "mipsel" ? 0.5 : 1;
    const gzipMiB = sizes.gzipMiB * scale;
    const shaMiB = sizes.shaMiB * scale;
    list.push(
      {
        id: `gzip-${debianArch}`,
        label: `${debianArch} busybox gzip -c (${gzipMiB} MiB)`,
        arch,
        argv: [busybox, "gzip", "-c", input("gzip", gzipMiB)],
        smallArgv: [busybox, "gzip", "-c", smallInput],
        memory: true,
      },
      {
        id: `sha256-${debianArch}`,
        label: `${debianArch} busybox sha256sum (${shaMiB} MiB)`,
        arch,
        argv: [busybox, "sha256sum", input("sha", shaMiB)],
        smallArgv: [busybox, "sha256sum", smallInput],
        memory: true,
      },
    );
  }
  return list;
}

/** Bytes of one per-instruction `exec` and one `mem` record (zig-src/wire/records.zig). */
export function recordBytes(arch: Workload["arch"]): { exec: number; mem: number } {
  const addrWords = arch === "aarch64" ? 2 : 1;
  // A mem record carries no pc since protocol 2; two value words is its
  // largest (8- and 16-byte accesses), so this is an upper bound.
  return { exec: 4 * (1 + addrWords), mem: 4 * (1 + addrWords + 2) };
}
