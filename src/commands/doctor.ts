//! `cannoli doctor`: which backends can run here, for which guest
//! architectures, and what to do about the ones that cannot.
import { existsSync } from "node:fs";
import { nativeLibraryPath } from "../native_paths";
import { firstLine } from "../runtime/errors";
import { findPatchedQemu } from "./qemu_paths";

const archs = ["mipsel", "aarch64", "riscv64", "x86_64", "arm", "mips", "i386", "ppc64le", "s390x"];

export const doctorUsage = `usage: cannoli doctor

Tells which backends are available for which guest architectures:
  plugin   stock qemu-user 7.2+ with cannoli's server as a TCG plugin
  patched  QEMU built by \`npm run qemu:build\` (recording code inlined)
`;

function qemuVersion(path: string): string {
  const run = Bun.spawnSync([path, "--version"]);
  return /version ([\d.]+)/.exec(run.stdout.toString())?.[1] ?? "unknown version";
}

export async function doctor(argv: string[]): Promise<number> {
  if (argv[0] === "-h" || argv[0] === "--help") {
    process.stdout.write(doctorUsage);
    return 0;
  }
  let server = "";
  try {
    server = nativeLibraryPath("libcannoli_server.so");
  } catch (error) {
    process.stdout.write(`server library: missing (${firstLine(error)})\n`);
    return 1;
  }
  process.stdout.write(`server library: ${server}\n`);
  let pluginArchs = 0;
  for (const arch of archs) {
    const stock = Bun.which(`qemu-${arch}`);
    const plugin = stock ? `plugin: ${stock} (QEMU ${qemuVersion(stock)})` : "plugin: no qemu-" + arch + " (apt-get install qemu-user)";
    let patched: string;
    try {
      const path = findPatchedQemu(arch);
      patched = existsSync(path) ? `patched: ${path}` : "patched: not built";
    } catch {
      patched = "patched: not built (npm run qemu:build)";
    }
    if (stock) pluginArchs++;
    process.stdout.write(`${arch.padEnd(8)} ${plugin}; ${patched}\n`);
  }
  return pluginArchs > 0 ? 0 : 1;
}
