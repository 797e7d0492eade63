// SPDX-License-Identifier: MIT
//! The built-in tracers, by the name `--tracer` takes.
import type { AnyTracer } from "../tracer";
import count from "./count";
import cov from "./cov";
import demo from "./demo";
import exportRows from "../export/chunk_rows";
import nullTracer from "./null";
import print from "./print";
import printSymbols from "./print_symbols";
import tail from "./tail";
import tenet from "./tenet";

export const builtinTracers: Record<string, AnyTracer> = {
  count: count as AnyTracer,
  print: print as AnyTracer,
  null: nullTracer as AnyTracer,
  demo: demo as AnyTracer,
  cov: cov as AnyTracer,
  "print-symbols": printSymbols as AnyTracer,
  tenet: tenet as AnyTracer,
  tail: tail as AnyTracer,
  export: exportRows as AnyTracer,
};
