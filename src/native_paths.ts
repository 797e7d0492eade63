// SPDX-License-Identifier: MIT
//! Where the native pieces (Zig-built libraries and cannoli-exec) are
//! found. They are imported as files, so `bun build --compile` embeds them
//! in the single executable; QEMU, dlopen and execve need real paths, so an
//! embedded copy is written once to a cache directory keyed by its content
//! hash.
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describeWriteError } from "./runtime/output";
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

/** The cache directory, made private; where it cannot be made (a home
 *  that cannot be written: a service account, a container run with
 *  `--user`), this user's directory in TMPDIR. */
function nativeDir(): string {
  const dir = cacheDir();
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Private: what QEMU loads must not be writable by anyone else.
    chmodSync(dir, 0o700);
    return dir;
  } catch (error) {
    return temporaryNativeDir(dir, error);
  }
}

/** `cannoli-native-<uid>` in TMPDIR (a name private_directory.ts never
 *  takes for stale), used only if it is a directory of this user that no
 *  one else may write: TMPDIR is shared, and QEMU loads what is in it. */
function temporaryNativeDir(cache: string, cacheError: unknown): string {
  const uid = process.getuid?.() ?? 0;
  const dir = join(tmpdir(), `cannoli-native-${uid}`);
  const refuse = (why: string) =>
    new Error(`cannoli: cannot unpack the native libraries: ${cache}: ${describeWriteError(cacheError)}, and ${dir} ${why} (set CANNOLI_CACHE to a directory of yours)`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw refuse(`cannot be made: ${describeWriteError(error)}`);
  }
  const stat = lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o022) !== 0) throw refuse("is not a private directory of this user");
  return dir;
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
  const dir = join(nativeDir(), key.slice(0, 16));
  for (const { name, bytes, hash } of contents) {
    const target = join(dir, name);
    if (existsSync(target) && sha256(readFileSync(target)) === hash) continue;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, bytes, { mode: 0o755 });
    renameSync(temporary, target);
  }
  chmodSync(dir, 0o700);
  return dir;
}

function sha256(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

/** Stand-alone tools (tests and benchmarks only; not embedded). */
export function nativeToolPath(name: string): string {
  return join(process.env.CANNOLI_NATIVE_DIR ?? join(checkoutRoot, "zig-out"), "bin", name);
}
