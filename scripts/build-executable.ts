// SPDX-License-Identifier: MIT
//! Builds the single executable dist/cannoli with `bun build --compile`: the
//! CLI, the Worker entry point, the Zig libraries embedded as files, and
//! DuckDB's native binding and library (src/export/duckdb_binding.ts takes
//! the place of the package's own loader, which looks in node_modules).
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
mkdirSync(join(root, "dist"), { recursive: true });
const result = await Bun.build({
  entrypoints: [join(root, "src/cli.ts"), join(root, "src/runtime/worker.ts")],
  compile: { outfile: join(root, "dist/cannoli") },
  minify: false,
  plugins: [
    {
      name: "duckdb-binding",
      setup(build) {
        build.onResolve({ filter: /^@duckdb\/node-bindings$/ }, () => ({ path: join(root, "src/export/duckdb_binding.ts") }));
      },
    },
  ],
  sourcemap: "none",
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.error(`built ${join(root, "dist/cannoli")}`);
