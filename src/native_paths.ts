//! Where the native pieces (Zig-built libraries and tools) are found: next to
//! the sources in a checkout (zig-out/), or under CANNOLI_NATIVE_DIR.
import { existsSync } from "node:fs";
import { join } from "node:path";

const checkoutRoot = join(import.meta.dir, "..");

export function nativeDir(): string {
  return process.env.CANNOLI_NATIVE_DIR ?? join(checkoutRoot, "zig-out");
}

export function nativeLibraryPath(name: string): string {
  const path = join(nativeDir(), "lib", name);
  if (!existsSync(path)) {
    throw new Error(`cannoli: native library ${path} is missing; run \`npm run build\` first`);
  }
  return path;
}

export function nativeToolPath(name: string): string {
  return join(nativeDir(), "bin", name);
}
