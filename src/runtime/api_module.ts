// SPDX-License-Identifier: MIT
//! Makes `import { defineTracer } from "@cannoli-trace/cannoli"` in a user's
//! tracer resolve to the API of the cannoli that runs it, wherever the tracer
//! lives: under `dist/cannoli` (nothing to find on disk), `bunx` or a
//! checkout. The name is resolved before Bun looks for a package, so nothing
//! is installed or fetched for it (an unscoped `cannoli` on the npm registry
//! is an unrelated package: fetching by name would be a
//! dependency-confusion hazard). Registered in every thread that imports a
//! tracer (the main thread and each Worker).
import packageJson from "../../package.json" with { type: "json" };
import * as api from "../tracer";

/** The package's name, as users import it. */
export const packageName: string = packageJson.name;

let registered = false;

export function registerApiModule(): void {
  if (registered) return;
  registered = true;
  Bun.plugin({
    name: "cannoli-api",
    setup(build) {
      build.module(packageName, () => ({ exports: { ...api }, loader: "object" }));
    },
  });
}
