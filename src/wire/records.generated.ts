// SPDX-License-Identifier: MIT
// Generated from zig-src/wire/records.zig by `zig build wire-ts`. Do not edit.
export const protocolVersion = 4;
export const Kind = {
  exec: 1,
  mem: 2,
  syscall: 3,
  sysret: 4,
  exit: 5,
  mmap: 6,
  munmap: 7,
  block_def: 8,
  block_open: 11,
  regs: 12,
  block_run: 13,
} as const;
export const memSizeShiftBit = 8;
export const memStoreBit = 11;
export const memSignBit = 12;
export const memBigEndianBit = 13;
export const memNoValueBit = 14;
export const memInsnShift = 16;
export const memInsnMask = 1023;
export const syscallArgs = 6;
export const mmapPathShift = 8;
export const execInsnBytesShift = 8;
export const regsValueWordsShift = 16;
export const regsIndexMask = 65535;
export const pathBytesMax = 4096;
export const countShift = 8;
export const blockInsnsMax = 512;
export const blockInsnsMask = 1023;
export const blockAccessesShift = 18;
export const blockAccessesMask = 4095;
export const blockAccessesMax = 2048;
export const blockRunIdMax = 16777215;
export const layoutFlagsMask = 127;
export const layoutInsnShift = 7;
export const layoutInsnMask = 511;
export const layoutDerivedBit = 16;
export const layoutDeltaShift = 17;
export const recordWords1 = {
  exec: 2,
  mem: 6,
  syscall: 8,
  sysret: 3,
  exit: 1,
  mmap: 7,
  munmap: 3,
  block_def: 2,
  block_open: 2,
  regs: 1,
  block_run: 1,
} as const;
export const recordWords2 = {
  exec: 3,
  mem: 7,
  syscall: 15,
  sysret: 5,
  exit: 1,
  mmap: 10,
  munmap: 5,
  block_def: 2,
  block_open: 2,
  regs: 1,
  block_run: 1,
} as const;
