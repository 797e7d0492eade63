// SPDX-License-Identifier: MIT
//! Where the native pieces (Zig-built libraries and cannoli-exec) are
//! found. They are imported as files, so `bun build --compile` embeds them
//! in the single executable; QEMU, dlopen and execve need real paths, so an
//! embedded copy is written once to a cache directory keyed by its content
//! hash.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import serverLibrary from "../zig-out/lib/libcannoli_server.so" with { type: "file" };
import consumerLibrary from "../zig-out/lib/libcannoli_consumer.so" with { type: "file" };
import execArgv from "../zig-out/bin/cannoli-exec" with { type: "file" };

const embedded = {
  "libcannoli_server.so": serverLibrary,
  "libcannoli_consumer.so": consumerLibrary,
  "cannoli-exec": execArgv,
} as const;

export type NativeFile = keyof typeof embedded;

const checkoutRoot = join(import.meta.dir, "..");

function cacheDir(): string {
  return join(process.env.CANNOLI_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "cannoli"), "native");
}

/** A path on the real file system for `name`, extracting the embedded copy if
 *  needed. CANNOLI_SERVER names another server library: one built with a
 *  custom hook file (`zig build -Dhooks=FILE -p DIR`). */
export function nativePath(name: NativeFile): string {
  if (name === "libcannoli_server.so" && process.env.CANNOLI_SERVER) {
    if (!existsSync(process.env.CANNOLI_SERVER)) throw new Error(`cannoli: CANNOLI_SERVER=${process.env.CANNOLI_SERVER} does not exist`);
    return process.env.CANNOLI_SERVER;
  }
  const path = embedded[name];
  if (!path.startsWith("/$bunfs/")) return path;
  return join(extractEmbedded({ [basename(name)]: path }), basename(name));
}

/**
 * Writes files embedded in the single executable (name -> embedded path)
 * into one private cache directory keyed by their content, and returns it:
 * files that load each other by $ORIGIN (DuckDB's binding and its library)
 * stay side by side. A copy is used only if it is byte for byte what this
 * executable embeds: anything else under the cache (planted, truncated) is
 * replaced.
 */
export function extractEmbedded(files: Readonly<Record<string, string>>): string {
  const contents = Object.entries(files).map(([name, path]) => {
    const bytes = readFileSync(path);
    return { name, bytes, hash: sha256(bytes) };
  });
  // One file: its own hash names the directory (as cannoli always has);
  // several: the hash of their names and hashes.
  const hasher = new Bun.CryptoHasher("sha256");
  for (const { name, hash } of contents) hasher.update(name).update(hash);
  const key = contents.length === 1 ? contents[0]!.hash : hasher.digest("hex");
  const dir = join(cacheDir(), key.slice(0, 16));
  for (const { name, bytes, hash } of contents) {
    const target = join(dir, name);
    if (existsSync(target) && sha256(readFileSync(target)) === hash) continue;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, bytes, { mode: 0o755 });
    renameSync(temporary, target);
  }
  // Private: what QEMU loads must not be writable by anyone else.
  for (const d of [cacheDir(), dir]) chmodSync(d, 0o700);
  return dir;
}

function sha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

/** Stand-alone tools (tests and benchmarks only; not embedded). */
export function nativeToolPath(name: string): string {
  return join(process.env.CANNOLI_NATIVE_DIR ?? join(checkoutRoot, "zig-out"), "bin", name);
}
