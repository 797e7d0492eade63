// SPDX-License-Identifier: MIT
//! `cannoli doctor`: which QEMUs here can run cannoli, for which guest
//! architectures, what each QEMU version offers the server, and what to do
//! about the ones that cannot.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { socketDirectoryBase } from "../mempipe/PipeListener";
import { nativePath } from "../native_paths";
import { firstLine } from "../runtime/errors";
import { findPatchedQemu, patchedBuildAdvice } from "./qemu_paths";
import { isSupported, pluginApiRange, pluginFeatures, qemuVersion, supportedQemu } from "./qemu_version";
import { UsageError } from "./usage_error";

const archs = ["mipsel", "aarch64", "riscv64", "x86_64", "arm", "mips", "i386", "ppc64le", "s390x"];

export const doctorUsage = `usage: cannoli doctor [--qemu PATH]

Tells, for each qemu-<arch> on PATH (and --qemu PATH), its QEMU version, the
plugin API versions it accepts, whether cannoli's server actually loads in it
(QEMU is started with the server and no guest), what that version offers the
server, and whether the patched backend is built:
  plugin   stock QEMU (${supportedQemu}) with cannoli's server as a TCG plugin
  patched  QEMU 7.2 with cannoli's patches (recording code inlined), built by
           \`npm run qemu:build\` in a checkout of cannoli's repository
`;

interface LoadProbe {
  loaded: boolean;
  /** The plugin API version QEMU reported to the server. */
  api: number | null;
  /** QEMU's first line of complaint when it did not load the server. */
  complaint: string;
}

const doctorPrefix = "cannoli-doctor-";
const probeSocket = "probe.sock";

/** Starts `qemu` with the server and a guest that does not exist: QEMU
 *  loads plugins before the guest, and the server leaves its `.loaded` file
 *  (zig-src/server/process.zig) if QEMU got as far as installing it. */
function probeServer(qemu: string, server: string): LoadProbe {
  // Where a run's socket would go: a TMPDIR too long for a socket's path is not QEMU's failure.
  const dir = mkdtempSync(join(socketDirectoryBase(doctorPrefix, probeSocket), doctorPrefix));
  try {
    const socket = join(dir, probeSocket);
    const run = Bun.spawnSync([qemu, "-plugin", `${server},sock=${socket}`, join(dir, "no-guest")], { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
    let marker = "";
    try {
      marker = readFileSync(`${socket}.loaded`, "utf8");
    } catch {
      /* not loaded */
    }
    const api = /plugin_api=(\d+)/.exec(marker);
    const complaint =
      run.stderr
        .toString()
        .split("\n")
        .find((line) => /plugin/i.test(line)) ?? firstLine(run.stderr.toString());
    return { loaded: marker !== "", api: api ? Number(api[1]) : null, complaint: complaint.trim() };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One QEMU, one line: version, API range, whether the server loads, features. */
function describeQemu(qemu: string, server: string): { line: string; usable: boolean } {
  const version = qemuVersion(qemu);
  if (!version) return { line: `${qemu}: does not answer --version like QEMU`, usable: false };
  const range = pluginApiRange(version);
  const probe = probeServer(qemu, server);
  const parts = [`${qemu}: QEMU ${version.text}`, range ? `plugin API ${range.min}..${range.max}` : "no plugin API"];
  if (probe.loaded) {
    parts.push(`server loads (API ${probe.api})`);
    if (!isSupported(version)) parts.push(`outside ${supportedQemu}: untested`);
    parts.push(pluginFeatures(version).join(", "));
  } else {
    parts.push(`server does NOT load: ${probe.complaint || "QEMU gave no reason"}`);
  }
  return { line: parts.join("; "), usable: probe.loaded };
}

export async function doctor(argv: string[]): Promise<number> {
  let extra: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h" || arg === "--help") {
      process.stdout.write(doctorUsage);
      return 0;
    }
    if (arg === "--qemu" && argv[i + 1] !== undefined) extra = argv[++i];
    else throw new UsageError(`cannoli: unknown doctor argument ${arg} (see cannoli doctor --help)`);
  }
  let server = "";
  try {
    server = nativePath("libcannoli_server.so");
  } catch (error) {
    process.stdout.write(`server library: missing (${firstLine(error)})\n`);
    return 1;
  }
  process.stdout.write(`server library: ${server}\n`);
  let usable = 0;
  if (extra) {
    const { line, usable: ok } = describeQemu(extra, server);
    process.stdout.write(`--qemu   ${line}\n`);
    if (ok) usable++;
  }
  for (const arch of archs) {
    const stock = Bun.which(`qemu-${arch}`);
    let plugin = `plugin: no qemu-${arch} on PATH (apt-get install qemu-user)`;
    if (stock) {
      const { line, usable: ok } = describeQemu(stock, server);
      plugin = `plugin: ${line}`;
      if (ok) usable++;
    }
    let patched: string;
    try {
      patched = `patched: ${findPatchedQemu(arch)}`;
    } catch {
      patched = `patched: not built (${patchedBuildAdvice})`;
    }
    process.stdout.write(`${arch.padEnd(8)} ${plugin}\n         ${patched}\n`);
  }
  if (usable === 0) process.stdout.write(`no QEMU here loads cannoli's server: install qemu-user (${supportedQemu}; Debian 12 or later), or give --qemu PATH\n`);
  return usable > 0 ? 0 : 1;
}
