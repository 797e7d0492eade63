#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// `cannoli` as installed from the package (npx, bunx, npm i -g). cannoli
// runs on Bun: under Bun this imports the CLI; under Node it finds Bun (on
// PATH, else the `bun` package installed with cannoli) and hands over,
// passing stdio, the exit code and signals through.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const cli = join(dirname(fileURLToPath(import.meta.url)), "..", "src", "cli.ts");

function findBun() {
  try {
    const bunPackage = dirname(createRequire(import.meta.url).resolve("bun/package.json"));
    for (const name of ["bin/bun.exe", "bin/bun"]) {
      const path = join(bunPackage, name);
      if (existsSync(path)) return path;
    }
  } catch {
    // not installed next to cannoli: try PATH
  }
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const path = join(dir || ".", "bun");
    if (existsSync(path)) return path;
  }
  return null;
}

/** Node hands Bun the arguments as strings, which replaces bytes that are
 *  not UTF-8: those arguments go along as bytes too (src/runtime/argv_bytes.ts). */
function withRawArgv(count) {
  let bytes;
  try {
    bytes = readFileSync("/proc/self/cmdline");
  } catch {
    return process.env;
  }
  const args = [];
  for (let start = 0, i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) continue;
    args.push(bytes.subarray(start, i + 1));
    start = i + 1;
  }
  const tail = Buffer.concat(args.slice(Math.max(0, args.length - count)));
  const strict = new TextDecoder("utf-8", { fatal: true });
  try {
    strict.decode(tail);
    return process.env;
  } catch {
    return { ...process.env, CANNOLI_RAW_ARGV: tail.toString("base64") };
  }
}

if (process.versions.bun) {
  await import(cli);
} else {
  const bun = findBun();
  if (!bun) {
    process.stderr.write("cannoli: needs Bun 1.4.5 or later, which was not found (npm install -g bun, or see https://bun.sh)\n");
    process.exit(1);
  }
  const child = spawn(bun, [cli, ...process.argv.slice(2)], { stdio: "inherit", env: withRawArgv(process.argv.length - 2) });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
