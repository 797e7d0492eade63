// SPDX-License-Identifier: MIT
//! QEMU's own register dumps as an oracle: `-singlestep -d cpu,nochain -D
//! FILE` makes the (patched) QEMU log its CPU state before every
//! instruction, in the same process cannoli traces.

/** QEMU's own `-d cpu,nochain` log under `-singlestep` (the patched QEMU,
 *  same process): the registers before every instruction, by our names. */
export function cpuLogStates(log: string, arch: "aarch64" | "x86_64" | "mipsel"): { pc: bigint; registers: Map<string, bigint> }[] {
  const first = { aarch64: " PC=", x86_64: "RAX=", mipsel: "pc=0x" }[arch];
  const entries = log.split(new RegExp(`^(?=${first})`, "m")).filter((entry) => entry.startsWith(first));
  return entries.map((entry) => {
    const registers = new Map<string, bigint>();
    if (arch === "mipsel") {
      // "pc=0x... HI=0x... LO=0x..." then "GPR00: r0 00000000 at 00000000 ...".
      for (const [, raw, value] of entry.matchAll(/\b(pc|HI|LO)=0x([0-9a-f]+)/g)) registers.set(raw!.toLowerCase(), BigInt(`0x${value}`));
      for (const line of entry.split("\n").filter((l) => l.startsWith("GPR"))) {
        for (const [, raw, value] of line.slice(7).matchAll(/([a-z0-9]+) ([0-9a-f]{8})/g)) registers.set(raw === "r0" ? "zero" : raw!, BigInt(`0x${value}`));
      }
      return { pc: registers.get("pc")!, registers };
    }
    for (const [, raw, value] of entry.matchAll(/([A-Z][A-Z0-9]*) ?=([0-9a-f]+)/g)) {
      const name = arch === "aarch64" ? (raw === "PSTATE" ? "cpsr" : raw!.startsWith("X") ? `x${Number(raw!.slice(1))}` : raw!.toLowerCase()) : raw!.toLowerCase();
      registers.set(name, BigInt(`0x${value}`));
    }
    return { pc: registers.get(arch === "aarch64" ? "pc" : "rip")!, registers };
  });
}
