// SPDX-License-Identifier: MIT
//! Runs one command once and measures it: wall time, CPU split between QEMU
//! and the consumer, peak memory, and cannoli's own statistics.
//!
//! QEMU always runs through a wrapper script (`--qemu` for cannoli; directly
//! for plain runs) that execs `/usr/bin/time -f "%e %U %S %M"` around the
//! real qemu-<arch>, so QEMU's own CPU time and peak RSS are known. The
//! consumer's CPU time is the spawned process's rusage (which includes its
//! waited-for children: the wrapper and QEMU) minus QEMU's. The consumer's
//! peak RSS is its VmHWM, polled from /proc while it runs (Workers are
//! threads of the same process).
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface CannoliStats {
  instructions: number;
  reads: number;
  writes: number;
  dropped_chunks: number;
  exit_code: number;
}

export interface Measurement {
  wallS: number;
  /** The whole process tree's user + system CPU. */
  totalCpuS: number;
  qemuCpuS: number;
  /** totalCpuS - qemuCpuS (0 for plain QEMU). */
  consumerCpuS: number;
  qemuMaxRssKiB: number;
  /** Peak RSS of the cannoli process (0 for plain QEMU). */
  consumerMaxRssKiB: number;
  stats: CannoliStats | null;
  /** The tracer's `-o` output, when one was asked for. */
  tracerOutput: string | null;
  /** The recording's size in bytes (`cannoli record` runs). */
  storedBytes?: number;
}

export class Runner {
  readonly scratch: string;
  readonly env: Record<string, string>;
  readonly #timeFile: string;

  constructor(scratch: string) {
    this.scratch = scratch;
    // Fixed, short environment: the guest sees it too, and busybox's
    // instruction count depends on it; the time file's path has a fixed length.
    this.#timeFile = join(scratch, "qemu.time");
    this.env = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root", CANNOLI_BENCH_TIME: this.#timeFile };
  }

  /** The `/usr/bin/time` wrapper around qemu-<arch>: Debian's, or the one
   *  in `binDir` (the patched build, stock QEMU 10.0), named by `tag`. */
  qemuWrapper(arch: string, binDir = "/usr/bin", tag = "patched"): string {
    const path = join(this.scratch, binDir === "/usr/bin" ? `qemu-${arch}` : `qemu-${arch}-${tag}`);
    if (!existsSync(path)) {
      writeFileSync(path, `#!/bin/sh\nexec /usr/bin/time -f "%e %U %S %M" -o "$CANNOLI_BENCH_TIME" ${binDir}/qemu-${arch} "$@"\n`);
      chmodSync(path, 0o755);
    }
    return path;
  }

  /** Runs argv once. `statsJson`/`tracerOutput`: files cannoli was told to write. */
  async run(argv: string[], files: { statsJson?: string; tracerOutput?: string } = {}): Promise<Measurement> {
    rmSync(this.#timeFile, { force: true });
    for (const file of [files.statsJson, files.tracerOutput]) if (file) rmSync(file, { force: true });
    const started = performance.now();
    const child = Bun.spawn(argv, { env: this.env, stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    let consumerHwm = 0;
    const poll = setInterval(() => {
      try {
        const hwm = /VmHWM:\s*(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (hwm) consumerHwm = Math.max(consumerHwm, Number(hwm[1]));
      } catch {
        /* exited */
      }
    }, 20);
    const stderr = new Response(child.stderr).text();
    const exitCode = await child.exited;
    const wallS = (performance.now() - started) / 1000;
    clearInterval(poll);
    if (exitCode !== 0) throw new Error(`bench: ${argv.map((a) => a.split("/").pop()).join(" ")} exited ${exitCode}: ${(await stderr).trim().split("\n").slice(-3).join(" | ")}`);
    const usage = child.resourceUsage();
    const totalCpuS = usage ? Number(usage.cpuTime.total) / 1e6 : NaN;
    const qemu = this.#qemuTime();
    const isCannoli = !argv[0]!.includes("qemu-");
    return {
      wallS,
      totalCpuS,
      qemuCpuS: qemu.cpuS,
      consumerCpuS: isCannoli ? Math.max(0, totalCpuS - qemu.cpuS) : 0,
      qemuMaxRssKiB: qemu.maxRssKiB,
      consumerMaxRssKiB: isCannoli ? consumerHwm : 0,
      stats: files.statsJson ? (JSON.parse(readFileSync(files.statsJson, "utf8")) as CannoliStats) : null,
      tracerOutput: files.tracerOutput ? readFileSync(files.tracerOutput, "utf8") : null,
    };
  }

  #qemuTime(): { cpuS: number; maxRssKiB: number } {
    if (!existsSync(this.#timeFile)) return { cpuS: NaN, maxRssKiB: NaN };
    const lines = readFileSync(this.#timeFile, "utf8").trim().split("\n");
    const [, user, system, rss] = lines[lines.length - 1]!.split(" ").map(Number);
    return { cpuS: user! + system!, maxRssKiB: rss! };
  }
}
