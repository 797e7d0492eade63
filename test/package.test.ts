// SPDX-License-Identifier: MIT
//! A user outside the repository: the packed package installs into an empty
//! project, its API imports with full types under the package's scoped name,
//! and a tracer that imports it runs through `npx` (Node only on PATH: the
//! launcher finds the Bun that came with the package), `bunx` and the single
//! executable, without anything fetching the unrelated `cannoli` package.
import { beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import packageJson from "../package.json" with { type: "json" };
import { scratchDir } from "./helpers/scratch";

const repo = join(import.meta.dir, "..");
const dir = scratchDir("pack");
const project = join(dir, "project");
const bunCache = join(dir, "bun-cache");
const guest = join(repo, "test/guests/build/mipsel/loops");
const nodeDir = dirname(Bun.which("node")!);
let tarball = "";

const tracer = `import { defineTracer, type ExecEvent, type ThreadInfo } from "${packageJson.name}";
export default defineTracer<undefined, number, { insns: number; arch: string }>({
  exec(_ctx, event: ExecEvent, out) { out.push(event.pc); },
  init: () => ({ insns: 0, arch: "" }),
  trace(state, pcs) { state.insns += pcs.length; },
  threadEnd(state, thread: ThreadInfo) { state.arch = thread.arch; },
  finish(state, output) { output.write(\`mine: \${state.insns} instructions on \${state.arch}\\n\`); },
});
`;

beforeAll(() => {
  const pack = Bun.spawnSync(["npm", "pack", repo, "--silent", "--pack-destination", dir], { cwd: dir });
  expect(pack.exitCode).toBe(0);
  tarball = join(dir, pack.stdout.toString().trim().split("\n").at(-1)!);
  Bun.spawnSync(["mkdir", "-p", project]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user-project", private: true, type: "module" }));
  const install = Bun.spawnSync(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", tarball], { cwd: project });
  expect(install.stderr.toString()).toBe("");
  expect(install.exitCode).toBe(0);
  writeFileSync(join(project, "mine.ts"), tracer);
  writeFileSync(
    join(project, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { strict: true, module: "ESNext", moduleResolution: "bundler", target: "ESNext", noEmit: true, types: [] }, files: ["mine.ts"] }),
  );
}, 300_000);

test("the package is scoped, ships its declarations and licenses", () => {
  expect(packageJson.name).toBe("@cannoli-trace/cannoli");
  const installed = join(project, "node_modules", packageJson.name);
  for (const file of ["types/tracer.d.ts", "bin/cannoli.js", "zig-out/lib/libcannoli_server.so", "LICENSE", "LICENSES/GPL-2.0-or-later.txt", "LICENSES/MIT.txt"]) {
    expect({ file, present: existsSync(join(installed, file)) }).toEqual({ file, present: true });
  }
  // Nothing by the unrelated name was installed.
  expect(existsSync(join(project, "node_modules", "cannoli"))).toBe(false);
});

test("the API type-checks in the user's project, and its types are real", () => {
  const tsc = join(repo, "node_modules/.bin/tsc");
  const good = Bun.spawnSync([tsc, "-p", project], { cwd: project });
  expect(good.stdout.toString()).toBe("");
  expect(good.exitCode).toBe(0);
  writeFileSync(join(project, "mine.ts"), tracer.replace("out.push(event.pc)", "out.push(event.pcc)"));
  const bad = Bun.spawnSync([tsc, "-p", project], { cwd: project });
  writeFileSync(join(project, "mine.ts"), tracer);
  expect(bad.exitCode).not.toBe(0);
  expect(bad.stdout.toString()).toContain("Property 'pcc' does not exist on type 'ExecEvent'");
});

/** Runs a `cannoli` command line in the user's project. */
function inProject(argv: string[], path: string) {
  const env = { PATH: path, HOME: dir, BUN_INSTALL_CACHE_DIR: bunCache, npm_config_cache: join(process.env.HOME ?? "/root", ".npm") };
  const run = Bun.spawnSync([...argv, "run", "--quiet", "--tracer", "./mine.ts", "--", guest], { cwd: project, env });
  return { stdout: run.stdout.toString(), stderr: run.stderr.toString(), exitCode: run.exitCode };
}

// The count depends on the environment the guest starts with (PATH differs
// between the three ways in), so only its shape is checked here; counts
// against QEMU's own are the end-to-end tests' business.
const expected = { stdout: "loops ok 83438a9e\n", stderr: expect.stringMatching(/^mine: [1-9]\d{3,} instructions on mipsel\n$/), exitCode: 3 };

test("npx cannoli with only Node on PATH: the launcher finds the packaged Bun", () => {
  expect(Bun.which("bun", { PATH: `${nodeDir}:/usr/bin:/bin` })).toBeNull();
  expect(inProject([join(nodeDir, "npx"), "--no-install", "cannoli"], `${nodeDir}:/usr/bin:/bin`)).toEqual(expected);
}, 120_000);

test("bunx from the tarball runs the tracer and fetches nothing by the unrelated name", () => {
  const bin = join(repo, "node_modules/.bin");
  const run = inProject([join(bin, "bunx"), "--package", `file:${tarball}`, "cannoli"], `${bin}:/usr/bin:/bin`);
  // bunx reports its one-time install ("Resolving dependencies", ...) first.
  expect({ ...run, stderr: run.stderr.replace(/^(?:Resolv|Saved).*\n/gm, "") }).toEqual(expected);
  const cached = existsSync(bunCache) ? readdirSync(bunCache) : [];
  expect(cached.filter((name) => /^cannoli@/.test(name))).toEqual([]);
}, 120_000);

test("the single executable resolves the package name to its own API", () => {
  expect(inProject([join(repo, "dist/cannoli")], "/usr/bin:/bin")).toEqual(expected);
}, 120_000);
