//! Whole-program overhead on a real program: Debian's static busybox
//! `gzip -c` of a few MB, plain QEMU against cannoli configurations, side by
//! side in one run (this machine is shared and noisy: only ratios count).
//!
//!   bun bench/busybox.ts [--runs N] [--arch arm64|mipsel] [--mb N]
import { cpus } from "node:os";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const flag = (name: string, fallback: string) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1]! : fallback;
};
const runs = Number(flag("--runs", "3"));
const debianArch = flag("--arch", "arm64");
const qemuArch = debianArch === "arm64" ? "aarch64" : debianArch;
const megabytes = Number(flag("--mb", "4"));

const repo = join(import.meta.dir, "..");
const cache = process.env.CANNOLI_CACHE ?? join(process.env.HOME ?? "/root", ".cache/cannoli");
const busybox = join(cache, "busybox", debianArch, "busybox");
const scratch = mkdtempSync(join(tmpdir(), "cannoli-bench-"));
const input = join(scratch, "input.txt");
const random = new Uint8Array(megabytes * 786432);
crypto.getRandomValues(random);
writeFileSync(input, Buffer.from(random).toString("base64"));
const env = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" };
const cannoli = join(repo, "dist/cannoli");
const guest = [busybox, "gzip", "-c", input];

const configurations: [string, string[]][] = [
  ["plain qemu", [`qemu-${qemuArch}`, ...guest]],
  ["cannoli null, PC only, per-instruction records", [cannoli, "run", "--quiet", "--tracer", "null", "--no-mem", "--no-syscalls", "--no-blocks", "--", ...guest]],
  ["cannoli null, PC only", [cannoli, "run", "--quiet", "--tracer", "null", "--no-mem", "--no-syscalls", "--", ...guest]],
  ["cannoli count, PC only", [cannoli, "run", "--quiet", "--tracer", "count", "--no-mem", "--no-syscalls", "--", ...guest]],
  ["cannoli null, PC + memory", [cannoli, "run", "--quiet", "--tracer", "null", "--", ...guest]],
  ["cannoli count, PC + memory", [cannoli, "run", "--quiet", "--tracer", "count", "--", ...guest]],
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const walls = new Map<string, number[]>(configurations.map(([name]) => [name, []]));
for (let run = 0; run < runs; run++) {
  // Interleave configurations so drifting machine load hits them all alike.
  for (const [name, argv] of configurations) {
    const started = performance.now();
    const child = Bun.spawnSync(argv, { env, stdout: "ignore", stderr: "ignore" });
    if (child.exitCode !== 0) throw new Error(`${name} exited ${child.exitCode}`);
    walls.get(name)!.push((performance.now() - started) / 1000);
  }
}
const plain = median(walls.get("plain qemu")!);
console.log(`busybox ${debianArch} gzip -c ${megabytes} MB (base64 of random bytes); ${cpus().length} × ${cpus()[0]?.model}; median of ${runs}; ${new Date().toISOString().slice(0, 10)}`);
console.log("| configuration | wall s | × plain QEMU |\n|---|---|---|");
for (const [name] of configurations) {
  const wall = median(walls.get(name)!);
  console.log(`| ${name} | ${wall.toFixed(2)} | ${(wall / plain).toFixed(2)} |`);
}
