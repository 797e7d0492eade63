//! A real program no one here wrote: Debian's static arm64 and mipsel busybox
//! compressing data. cannoli's instruction count must equal QEMU's own insn
//! plugin's, in the same controlled environment.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./helpers/scratch";

const repo = join(import.meta.dir, "..");
const cache = process.env.CANNOLI_CACHE ?? join(process.env.HOME ?? "/root", ".cache/cannoli");
const oracles = join(cache, "oracles");
const scratch = scratchDir("busybox");
const input = join(scratch, "input.txt");
// Deterministic, compressible-but-not-trivial input.
writeFileSync(input, Array.from({ length: 20000 }, (_, i) => `line ${i} ${(i * 2654435761) % 1000003}\n`).join(""));
const env = { PATH: "/usr/bin:/bin", HOME: "/nonexistent" };

describe.each([
  ["arm64", "aarch64"],
  ["mipsel", "mipsel"],
])("busybox %s", (debianArch, qemuArch) => {
  const busybox = join(cache, "busybox", debianArch, "busybox");
  test("gzip: instruction count equals QEMU's insn plugin", async () => {
    const log = join(scratch, `insn-${debianArch}.log`);
    const oracle = Bun.spawnSync([`qemu-${qemuArch}`, "-plugin", join(oracles, "libinsn.so") + ",inline=on", "-d", "plugin", "-D", log, busybox, "gzip", "-c", input], { env, cwd: scratch });
    expect(oracle.exitCode).toBe(0);
    const expected = Number(/insns: (\d+)/.exec(readFileSync(log, "utf8"))![1]);

    const stats = join(scratch, `stats-${debianArch}.json`);
    const traced = Bun.spawnSync([process.execPath, join(repo, "src/cli.ts"), "run", "--quiet", "--tracer", "null", "--stats-json", stats, "--", busybox, "gzip", "-c", input], { env, cwd: scratch });
    expect(traced.stderr.toString()).toBe("");
    expect(traced.exitCode).toBe(0);
    // The guest's output passes through untouched.
    expect(Buffer.compare(traced.stdout, oracle.stdout)).toBe(0);
    const result = JSON.parse(readFileSync(stats, "utf8"));
    expect(result.instructions).toBe(expected);
    expect(result).toMatchObject({ threads: 1, processes: 1, exit_code: 0, dropped_chunks: 0, backend: "plugin" });
  });
});
