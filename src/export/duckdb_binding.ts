// SPDX-License-Identifier: MIT
//! DuckDB's native binding inside the single executable. The build
//! (scripts/build-executable.ts) puts this module in place of
//! `@duckdb/node-bindings`, whose loader would look for the binding in
//! node_modules: the binding and the DuckDB library it loads by $ORIGIN are
//! embedded as files and written side by side to the cache next to the
//! server library, then loaded from there. Outside the executable the
//! package loads itself and this module is not used.
import { createRequire } from "node:module";
import { join } from "node:path";
import binding from "../../node_modules/@duckdb/node-bindings-linux-x64/duckdb.node" with { type: "file" };
import library from "../../node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so" with { type: "file" };
import { extractEmbedded } from "../native_paths";

const dir = extractEmbedded({ "duckdb.node": binding, "libduckdb.so": library });
const loaded: unknown = createRequire(import.meta.url)(join(dir, "duckdb.node"));

// @duckdb/node-api reads the package's CommonJS export as `default`.
export const __esModule = true;
export default loaded;
