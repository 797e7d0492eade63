// SPDX-License-Identifier: MIT
//! `bunx cannoli` from the package: the packed tarball carries the CLI, the
//! Worker and the Zig libraries, and runs with nothing else installed.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { scratchDir } from "./helpers/scratch";

const repo = join(import.meta.dir, "..");
const dir = scratchDir("pack");

test("bunx cannoli runs from the packed package", { timeout: 120_000 }, () => {
  const pack = Bun.spawnSync(["npm", "pack", repo, "--silent"], { cwd: dir });
  expect(pack.exitCode).toBe(0);
  const tarball = join(dir, pack.stdout.toString().trim().split("\n").at(-1)!);
  // A user's bunx has bun on its PATH; here it is the pinned one.
  const bin = join(repo, "node_modules/.bin");
  const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: dir, BUN_INSTALL_CACHE_DIR: join(dir, "bun-cache") };
  const run = Bun.spawnSync([join(bin, "bunx"), "--package", `file:${tarball}`, "cannoli", "run", "--quiet", "--", join(repo, "test/guests/build/mipsel/loops")], { cwd: dir, env });
  expect(run.stdout.toString()).toBe("loops ok 83438a9e\n");
  expect(run.stderr.toString()).toMatch(/^\d+:\d+ instructions \d+ reads \d+ writes \d+\ntotal instructions/m);
  expect(run.exitCode).toBe(3);
});
