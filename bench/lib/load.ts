// SPDX-License-Identifier: MIT
//! The machine is shared: before each measured round, wait (a few minutes at
//! most) for it to be quiet, and report the load the round started under.
//!
//! The 1-minute load average alone cannot tell: the harness's own previous
//! round (QEMU and the consumer on both cores) keeps it near 2 for a minute.
//! So a round also starts when other processes use at most `busyCoresMax`
//! cores, sampled from /proc/stat over one second while the harness is idle.
import { readFileSync } from "node:fs";

export function loadAverage(): number {
  return Number(readFileSync("/proc/loadavg", "utf8").split(" ")[0]);
}

function cpuTicks(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Cores kept busy by everything on the machine over `ms` (the harness is idle then). */
export async function busyCores(ms = 1000): Promise<number> {
  const before = cpuTicks();
  const started = performance.now();
  await Bun.sleep(ms);
  const after = cpuTicks();
  const seconds = (performance.now() - started) / 1000;
  const ticksPerS = 100; // USER_HZ
  return (after.busy - before.busy) / ticksPerS / seconds;
}

const busyCoresMax = 0.3;

/** Polls until the 1-minute load is at most `threshold` or other processes
 *  use at most 0.3 cores, or `maxWaitS` pass; returns the 1-minute load the
 *  round starts under. */
export async function waitForQuiet(threshold: number, maxWaitS: number, log: (line: string) => void): Promise<number> {
  const deadline = performance.now() + maxWaitS * 1000;
  let load = loadAverage();
  let busy = load <= threshold ? 0 : await busyCores();
  if (load <= threshold || busy <= busyCoresMax) return load;
  log(`load ${load.toFixed(2)} > ${threshold} and other processes use ${busy.toFixed(2)} cores: waiting up to ${maxWaitS} s`);
  while (load > threshold && busy > busyCoresMax && performance.now() < deadline) {
    await Bun.sleep(2000);
    load = loadAverage();
    busy = await busyCores();
  }
  log(
    load > threshold && busy > busyCoresMax
      ? `load still ${load.toFixed(2)}, ${busy.toFixed(2)} cores busy: measuring anyway (noted)`
      : `load ${load.toFixed(2)}, ${busy.toFixed(2)} cores busy: go`,
  );
  return load;
}
