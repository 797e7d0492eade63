#!/usr/bin/env node
// SPDX-License-Identifier: MIT
// `cannoli` as installed from the package (npx, bunx, npm i -g). cannoli
// runs on Bun: under Bun this imports the CLI; under Node it finds Bun (on
// PATH, else the `bun` package installed with cannoli) and hands over,
// passing stdio, the exit code and signals through.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
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

if (process.versions.bun) {
  await import(cli);
} else {
  const bun = findBun();
  if (!bun) {
    process.stderr.write("cannoli: needs Bun 1.4.5 or later, which was not found (npm install -g bun, or see https://bun.sh)\n");
    process.exit(1);
  }
  const child = spawn(bun, [cli, ...process.argv.slice(2)], { stdio: "inherit" });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    if (signal) process.kill(process.pid, signal);
    else process.exit(code ?? 1);
  });
}
