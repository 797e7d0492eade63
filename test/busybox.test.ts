// SPDX-License-Identifier: MIT
//! A real program no one here wrote: Debian's static arm64 and mipsel busybox
//! compressing and hashing data, on both QEMUs under test. cannoli's
//! instruction and memory-access counts must equal QEMU's own insn and mem
//! plugins loaded into the same QEMU process, and the guest's output must
//! pass through untouched.
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Arch, QEMUS, QEMU_7_2, oracleQemuArgs, parseInsnOutput, parseMemOutput } from "./helpers/oracle";
import { scratchDir } from "./helpers/scratch";

const repo = join(import.meta.dir, "..");
const cache = process.env.CANNOLI_CACHE ?? join(process.env.HOME ?? "/root", ".cache/cannoli");
const scratch = scratchDir("busybox");
const input = join(scratch, "input.txt");
// Deterministic, compressible-but-not-trivial input.
writeFileSync(input, Array.from({ length: 20000 }, (_, i) => `line ${i} ${(i * 2654435761) % 1000003}\n`).join(""));
// No HOME: nothing may depend on it. Bun would write its transpiler cache there.
const env = { PATH: "/usr/bin:/bin", HOME: "/nonexistent", BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0" };
const debianArch: Partial<Record<Arch, string>> = { aarch64: "arm64", mipsel: "mipsel" };

for (const q of QEMUS) {
  for (const arch of q.arches.filter((a) => debianArch[a])) {
    const busybox = join(cache, "busybox", debianArch[arch]!, "busybox");
    describe(`busybox ${debianArch[arch]} on QEMU ${q.name}`, () => {
      for (const applet of [["gzip", "-c"], ["sha256sum"]]) {
        test(`${applet[0]}: instructions and accesses equal QEMU's insn and mem plugins in the same QEMU`, async () => {
          const tag = `${q.name}-${arch}-${applet[0]}`;
          const log = join(scratch, `oracles-${tag}.log`);
          const stats = join(scratch, `stats-${tag}.json`);
          const qemuArgs = oracleQemuArgs(q, log, { execlog: false }).flatMap((arg) => ["--qemu-arg", arg]);
          const qemu = q === QEMU_7_2 ? [] : ["--qemu", q.binary(arch)];
          const argv = [
            process.execPath,
            join(repo, "src/cli.ts"),
            "run",
            "--quiet",
            "--tracer",
            "null",
            "--stats-json",
            stats,
            ...qemu,
            ...qemuArgs,
            "--",
            busybox,
            ...applet,
            input,
          ];
          const traced = Bun.spawnSync(argv, { env, cwd: scratch });
          expect(traced.stderr.toString()).toBe("");
          expect(traced.exitCode).toBe(0);
          // The guest's output passes through untouched: the same bytes as
          // plain QEMU gives (sha256sum: the input's real digest).
          const plain = Bun.spawnSync([q.binary(arch), busybox, ...applet, input], { env, cwd: scratch });
          expect(Buffer.compare(traced.stdout, plain.stdout)).toBe(0);
          if (applet[0] === "sha256sum") expect(traced.stdout.toString()).toStartWith(new Bun.CryptoHasher("sha256").update(readFileSync(input)).digest("hex"));
          const oracleLog = readFileSync(log, "utf8");
          const result = JSON.parse(readFileSync(stats, "utf8"));
          expect({ instructions: result.instructions, accesses: result.reads + result.writes }).toEqual({
            instructions: parseInsnOutput(oracleLog).totals[0],
            accesses: parseMemOutput(oracleLog)[0],
          });
          expect(result).toMatchObject({ threads: 1, processes: 1, exit_code: 0, dropped_chunks: 0, backend: "plugin" });
        }, 120_000);
      }
    });
  }
}
