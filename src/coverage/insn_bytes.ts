// SPDX-License-Identifier: MIT
//! Instruction sizes per guest architecture, as coverage needs them when it
//! only has first-executed PCs: the smallest instruction (the size assumed
//! for a block's last one) and the largest (the widest gap between two PCs
//! that can still be one instruction after the other).

export interface InsnBytes {
  readonly min: number;
  readonly max: number;
}

const fixed4: InsnBytes = { min: 4, max: 4 };

const byArch: Record<string, InsnBytes> = {
  aarch64: fixed4,
  aarch64_be: fixed4,
  mips: fixed4,
  mipsel: fixed4,
  mips64: fixed4,
  mips64el: fixed4,
  mipsn32: fixed4,
  mipsn32el: fixed4,
  ppc: fixed4,
  ppc64: fixed4,
  ppc64le: fixed4,
  sparc64: fixed4,
  loongarch64: fixed4,
  // The C extension mixes 2- and 4-byte instructions; Thumb-2 likewise.
  riscv32: { min: 2, max: 4 },
  riscv64: { min: 2, max: 4 },
  arm: { min: 2, max: 4 },
  armeb: { min: 2, max: 4 },
  sh4: { min: 2, max: 2 },
  sh4eb: { min: 2, max: 2 },
  s390x: { min: 2, max: 6 },
  m68k: { min: 2, max: 22 },
  x86_64: { min: 1, max: 15 },
  i386: { min: 1, max: 15 },
};

export function insnBytesOf(arch: string): InsnBytes {
  return byArch[arch] ?? { min: 1, max: 16 };
}
