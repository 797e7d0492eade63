// SPDX-License-Identifier: MIT
//! A custom Zig hook file compiled into a server build decides, at
//! translation time, which instructions and accesses are recorded.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./helpers/scratch";

const repo = join(import.meta.dir, "..");
const prefix = scratchDir("hooks");

test("zig build -Dhooks=FILE: the hook file's choices are what gets recorded", { timeout: 300_000 }, () => {
  const build = Bun.spawnSync([join(repo, "scripts/zig.sh"), "build", "-Doptimize=ReleaseFast", `-Dhooks=${join(repo, "test/hooks/odd_words_only.zig")}`, "-p", prefix], {
    cwd: repo,
    stderr: "pipe",
  });
  expect(build.stderr.toString()).toBe("");
  const env = { PATH: "/usr/bin:/bin", HOME: process.env.HOME ?? "/root" };
  // Both runs name their server the same way: the guest sees the environment,
  // and its start-up code walks it.
  const trace = (server: string) => {
    const out = join(prefix, `${server.startsWith(prefix) ? "custom" : "stock"}.txt`);
    const run = Bun.spawnSync([process.execPath, join(repo, "src/cli.ts"), "run", "--quiet", "--tracer", "print", "-o", out, "--", join(repo, "test/guests/build/mipsel/loops")], {
      cwd: repo,
      env: { ...env, CANNOLI_SERVER: server },
    });
    expect(run.exitCode).toBe(3);
    return readFileSync(out, "utf8").split("\n");
  };
  const pcs = (lines: string[]) => lines.filter((l) => l.includes(" exec ")).map((l) => parseInt(l.split(" exec ")[1]!, 16));
  const stock = trace(join(repo, "zig-out/lib/libcannoli_server.so"));
  const custom = trace(join(prefix, "lib/libcannoli_server.so"));
  expect(pcs(custom)).toEqual(pcs(stock).filter((pc) => pc % 8 !== 0));
  expect(custom.some((l) => / (read|write) /.test(l))).toBe(false);
  expect(stock.some((l) => / (read|write) /.test(l))).toBe(true);
});
