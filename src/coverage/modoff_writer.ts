// SPDX-License-Identifier: MIT
//! Writes coverage as text, one covered block per line: `module+0xoffset`,
//! the module's file name and the block's offset from the module's start
//! (the form bncov and Lighthouse import as "module+offset"), sorted.
import { basename } from "node:path";
import type { Block } from "./block_builder";

export interface ModoffModule {
  readonly path: string;
  readonly start: number;
  readonly blocks: readonly Block[];
}

export function encodeModoff(modules: readonly ModoffModule[]): string {
  const lines: string[] = [];
  for (const module of modules) {
    const name = basename(module.path);
    const offsets = [...new Set(module.blocks.map((b) => b.start - module.start))].sort((a, b) => a - b);
    for (const offset of offsets) lines.push(`${name}+0x${offset.toString(16)}\n`);
  }
  return lines.join("");
}
