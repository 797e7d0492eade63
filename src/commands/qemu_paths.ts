// SPDX-License-Identifier: MIT
//! Which QEMU binary and which sysroot a guest runs with: shared by the
//! commands that launch a guest (run, cov).
import { existsSync, readFileSync, readdirSync, statSync, symlinkSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { debianTriples, isExecutable } from "../elf";
import { UsageError } from "./usage_error";

/** How to get the patched backend: its patch series and build script live in
 *  cannoli's repository, not in the package. */
export const patchedBuildAdvice = "build it in a checkout of cannoli's repository with npm run qemu:build";

export function findQemu(arch: string, override?: string): string {
  if (override) {
    if (!existsSync(override)) throw new UsageError(`cannoli: --qemu ${override} does not exist`);
    if (!statSync(override).isFile() || !isExecutable(override)) throw new UsageError(`cannoli: --qemu ${override} is not an executable file`);
    return override;
  }
  const found = Bun.which(`qemu-${arch}`);
  if (!found) throw new UsageError(`cannoli: qemu-${arch} not found; install Debian's qemu-user package (apt-get install qemu-user)`);
  return found;
}

/** The qemu-<arch> that scripts/qemu-build.sh built (one directory per
 *  patch-series hash under the cache, each holding a copy of its series):
 *  in a checkout, the build of the checkout's own series (an older build
 *  speaks another server ABI); otherwise, or when that one is missing, the
 *  newest. */
export function findPatchedQemu(arch: string): string {
  const root = join(process.env.CANNOLI_CACHE ?? join(homedir(), ".cache", "cannoli"), "qemu-patched");
  const candidates = existsSync(root)
    ? readdirSync(root)
        .map((hash) => join(root, hash))
        .filter((dir) => existsSync(join(dir, "bin", `qemu-${arch}`)))
    : [];
  if (candidates.length === 0) throw new UsageError(`cannoli: no patched qemu-${arch} in ${root}; ${patchedBuildAdvice} (or give --qemu)`);
  const series = seriesText(checkoutSeries);
  const own = series === null ? undefined : candidates.find((dir) => seriesText(dir) === series);
  const chosen = own ?? candidates.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0]!;
  return join(chosen, "bin", `qemu-${arch}`);
}

/** The patch series of the checkout this runs from (absent in the package). */
const checkoutSeries = join(import.meta.dir, "..", "..", "patches", "qemu-7.2");

/** A directory's *.patch files, concatenated in name order (null: none). */
function seriesText(dir: string): string | null {
  if (!existsSync(dir)) return null;
  const patches = readdirSync(dir)
    .filter((name) => name.endsWith(".patch"))
    .sort();
  return patches.length === 0 ? null : patches.map((name) => readFileSync(join(dir, name), "utf8")).join("");
}

export function findSysroot(arch: string, interpreter: string | null, override?: string): string | undefined {
  if (override) {
    if (!existsSync(override)) throw new UsageError(`cannoli: --sysroot ${override} does not exist`);
    return override;
  }
  if (!interpreter) return undefined;
  if (process.env.QEMU_LD_PREFIX) return process.env.QEMU_LD_PREFIX;
  const triple = debianTriples[arch];
  const candidate = triple ? join("/usr", triple) : undefined;
  // Debian's multiarch layout puts the loader in /lib already; only use the
  // cross sysroot when the loader is there and not on the host.
  if (candidate && existsSync(join(candidate, interpreter)) && !existsSync(interpreter)) return candidate;
  return undefined;
}

/** QEMU's argv up to the server's argument: the binary, the sysroot, the
 *  user's own QEMU options, then the front door (`-plugin` for stock QEMU,
 *  `-cannoli` for the patched one), whose value the session appends. */
export function qemuCommand(qemu: string, sysroot: string | undefined, qemuArgs: string[], backend: "plugin" | "patched"): string[] {
  return [qemu, ...(sysroot ? ["-L", sysroot] : []), ...qemuArgs, backend === "patched" ? "-cannoli" : "-plugin"];
}

/** The server library as QEMU's comma-separated `-plugin`/`-cannoli`
 *  argument can name it: a path with a comma (a HOME or CANNOLI_CACHE that
 *  holds one) goes through a symlink in the run's private socket directory,
 *  whose path never has one. */
export function serverArgument(serverLibrary: string, socketPath: string, options: string[]): string {
  let library = serverLibrary;
  if (library.includes(",")) {
    library = join(dirname(socketPath), "libcannoli_server.so");
    if (!existsSync(library)) symlinkSync(serverLibrary, library);
  }
  return [library, `sock=${socketPath}`, ...options].join(",");
}
