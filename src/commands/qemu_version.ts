// SPDX-License-Identifier: MIT
//! What a QEMU binary is, as far as cannoli's server cares: its version (from
//! `--version`), the plugin API range that version accepts, what it offers
//! the server, and the one line a user gets when it cannot load the server.
//! Used by `run`/`cov`/`record` (only when QEMU refused the server) and by
//! `cannoli doctor`.
import { patchedBuildAdvice } from "./qemu_paths";

/** The QEMU releases cannoli's plugin backend is built and tested for. */
export const supportedQemu = "QEMU 7.2 to 10.x";
const oldest = { major: 7, minor: 2 };
const newestMajor = 10;

export interface QemuVersion {
  /** As printed, e.g. "10.0.13" or "7.2.19" (Debian's suffix dropped). */
  text: string;
  major: number;
  minor: number;
}

/** `qemu-<arch> --version`, or null when it does not answer like QEMU. */
export function qemuVersion(path: string): QemuVersion | null {
  let stdout = "";
  try {
    stdout = Bun.spawnSync([path, "--version"], { stdin: "ignore", stderr: "ignore" }).stdout.toString();
  } catch {
    return null;
  }
  const match = /version (\d+)\.(\d+)(?:\.(\d+))?/.exec(stdout);
  if (!match) return null;
  return { text: match[0].slice("version ".length), major: Number(match[1]), minor: Number(match[2]) };
}

/** Whether this QEMU lists `-plugin` in its help (built with --enable-plugins). */
export function hasPluginOption(path: string): boolean {
  try {
    return /^-plugin\s/m.test(Bun.spawnSync([path, "-h"], { stdin: "ignore", stderr: "ignore" }).stdout.toString());
  } catch {
    return false;
  }
}

function atLeast(version: QemuVersion, major: number, minor: number): boolean {
  return version.major > major || (version.major === major && version.minor >= minor);
}

export function isSupported(version: QemuVersion): boolean {
  return atLeast(version, oldest.major, oldest.minor) && version.major <= newestMajor;
}

/** The plugin API versions this QEMU accepts (QEMU_PLUGIN_MIN_VERSION ..
 *  QEMU_PLUGIN_VERSION), from its release; null before plugins had one. */
export function pluginApiRange(version: QemuVersion): { min: number; max: number } | null {
  if (!atLeast(version, 4, 2)) return null;
  if (!atLeast(version, 9, 0)) return { min: 0, max: 1 };
  if (!atLeast(version, 9, 1)) return { min: 2, max: 2 };
  if (!atLeast(version, 9, 2)) return { min: 2, max: 3 };
  if (!atLeast(version, 10, 1)) return { min: 2, max: 4 };
  if (!atLeast(version, 11, 0)) return { min: 2, max: 5 };
  return { min: 2, max: 6 };
}

/** What this QEMU gives the server beyond what 7.2 does. */
export function pluginFeatures(version: QemuVersion): string[] {
  const features: string[] = [];
  features.push(atLeast(version, 9, 0) ? "blocks with threads (per-vCPU counters)" : "blocks while single-threaded");
  features.push(atLeast(version, 9, 2) ? "memory values from QEMU once the guest has threads (read back before)" : "memory values read back after the access");
  if (atLeast(version, 9, 0)) features.push("registers readable (not traced yet)");
  return features;
}

/** The one line for a QEMU that exited without loading cannoli's server. */
export function serverLoadFailure(qemuPath: string, backend: "plugin" | "patched"): string {
  const version = qemuVersion(qemuPath);
  const named = `${qemuPath} (${version ? `QEMU ${version.text}` : "not a QEMU that answers --version"})`;
  if (backend === "patched") {
    return `cannoli: ${named} did not load cannoli's server through -cannoli: it is not cannoli's patched QEMU (${patchedBuildAdvice}), or drop --backend patched`;
  }
  let why = "";
  if (!version) why = ": it does not look like QEMU";
  else if (!atLeast(version, oldest.major, oldest.minor)) why = `: it is older than 7.2`;
  else if (version.major > newestMajor) why = `: it is newer than cannoli knows (up to ${newestMajor}.x)`;
  else if (!hasPluginOption(qemuPath)) why = ": it was built without TCG plugin support (--enable-plugins)";
  // A QEMU that can load the server stopped before it did: QEMU's own
  // message (a --qemu-arg it refused, a guest it cannot load) is the reason.
  else return `cannoli: ${named} stopped before it loaded cannoli's server; QEMU's own message is above`;
  return `cannoli: ${named} could not load cannoli's server${why}${version ? " (QEMU's own message is above)" : ""}; cannoli needs ${supportedQemu} with plugin support: install qemu-user from Debian 12 or later, or give --qemu PATH (cannoli doctor lists what works)`;
}
