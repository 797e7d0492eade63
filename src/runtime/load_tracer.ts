// SPDX-License-Identifier: MIT
//! Resolves `--tracer`: a built-in's name, or the path of a TypeScript or
//! JavaScript module whose default export is a tracer.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { AnyTracer } from "../tracer";
import { builtinTracers } from "../tracers";
import { registerApiModule } from "./api_module";
import { firstLine } from "./errors";

export class TracerLoadError extends Error {}

const handlerNames = ["context", "exec", "read", "write", "syscall", "sysret", "mmap", "munmap", "batch", "init", "trace", "threadEnd", "finish"] as const;

export async function loadTracer(spec: string): Promise<AnyTracer> {
  const builtin = builtinTracers[spec];
  if (builtin) return builtin;
  const path = resolve(spec);
  if (!existsSync(path)) {
    throw new TracerLoadError(`cannoli: tracer ${spec} is neither a built-in (${Object.keys(builtinTracers).join(", ")}) nor a file`);
  }
  let module: { default?: unknown };
  registerApiModule();
  try {
    module = await import(path);
  } catch (error) {
    throw new TracerLoadError(`cannoli: tracer ${spec} failed to load: ${firstLine(error)}`);
  }
  const tracer = module.default;
  if (typeof tracer !== "object" || tracer === null) {
    throw new TracerLoadError(`cannoli: tracer ${spec} has no default export (export default defineTracer({...}))`);
  }
  for (const name of handlerNames) {
    const handler = (tracer as Record<string, unknown>)[name];
    if (handler !== undefined && typeof handler !== "function") {
      throw new TracerLoadError(`cannoli: tracer ${spec}: ${name} is not a function`);
    }
  }
  return tracer as AnyTracer;
}
