// SPDX-License-Identifier: MIT
//! Where a guest file lives on the host. qemu-user opens a guest path under
//! its `-L` sysroot first and falls back to the host path; a symbolizer has
//! to read the same file. Without an explicit sysroot, QEMU_LD_PREFIX and
//! Debian's cross sysroot (/usr/<gnu-triple>) are tried, since `cannoli run`
//! picks those for dynamic guests (the caller checks each candidate's ELF
//! machine, so a host library of another architecture is skipped).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { debianTriples } from "../elf";

/** Host paths to try for a guest path, most likely first. */
export function hostCandidates(guestPath: string, arch: string, sysroot?: string): string[] {
  const triple = debianTriples[arch];
  const under = (root: string | undefined) => (root && guestPath.startsWith("/") ? [join(root, guestPath)] : []);
  const out = [...under(sysroot), ...under(process.env.QEMU_LD_PREFIX), guestPath, ...under(triple ? join("/usr", triple) : undefined)];
  return out.filter((p, i) => out.indexOf(p) === i && existsSync(p));
}
