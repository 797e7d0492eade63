// SPDX-License-Identifier: MIT
//! What the figures were measured on: written at the top of BENCHMARKS.md.
import { cpus, totalmem } from "node:os";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  os: string;
  kernel: string;
  bun: string;
  qemu: string;
  /** The stock QEMU 10.0 build's exact version. */
  qemu10: string;
  hypervisor: string | null;
}

function firstMatch(text: string, pattern: RegExp): string | null {
  return pattern.exec(text)?.[1]?.trim() ?? null;
}

function qemuVersion(binary: string): string {
  const text = Bun.spawnSync([binary, "--version"]).stdout.toString();
  return firstMatch(text, /version (\S+ \([^)]*\))/) ?? firstMatch(text, /version (\S+)/) ?? "unknown";
}

/** `qemu10Dir`: scripts/qemu-stock-build.sh's build. */
export function describeMachine(qemu10Dir: string): Machine {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const osRelease = readFileSync("/etc/os-release", "utf8");
  const lscpu = Bun.spawnSync(["lscpu"]).stdout.toString();
  return {
    cpuModel: firstMatch(cpuinfo, /^model name\s*:\s*(.*)$/m) ?? cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 1024 ** 3),
    os: firstMatch(osRelease, /^PRETTY_NAME="?([^"\n]*)"?$/m) ?? "unknown",
    kernel: readFileSync("/proc/sys/kernel/osrelease", "utf8").trim(),
    bun: Bun.version,
    qemu: qemuVersion("qemu-aarch64"),
    qemu10: qemuVersion(join(qemu10Dir, "bin/qemu-aarch64")),
    hypervisor: firstMatch(lscpu, /^Hypervisor vendor:\s*(.*)$/m),
  };
}

export function machineLine(m: Machine): string {
  return `${m.cores} × ${m.cpuModel}${m.hypervisor ? ` (${m.hypervisor} guest)` : ""}, ${m.memoryGiB} GiB, ${m.os}, Linux ${m.kernel}, Bun ${m.bun}, qemu-user ${m.qemu}, stock QEMU ${m.qemu10}`;
}
