// SPDX-License-Identifier: MIT
//! Covered blocks, by module. A block is attributed to the module holding
//! its start, as that process's map stands when the block is added; a block
//! running past its module's end is cut there and the rest attributed on its
//! own. Blocks outside every module (yet) are kept per process and looked up
//! again by `settle` at the end, against everything the process ever mapped;
//! what is still outside then (e.g. signal trampolines QEMU writes to the
//! stack) is only counted.
import type { LoadedModule } from "../symbols/loaded_module";
import type { ProcessSymbols } from "../symbols/process_symbols";
import type { Block } from "./block_builder";

export interface ModuleCoverage {
  readonly module: LoadedModule;
  /** Covered blocks, absolute addresses; start → bytes (the longest seen). */
  readonly blocks: Map<number, number>;
}

/** The key that merges the same file at the same place across processes. */
const moduleKey = (m: LoadedModule) => `${m.start}:${m.end}:${m.path}`;

export class CoverageMap {
  readonly #byModule = new Map<string, ModuleCoverage>();
  readonly #pending = new Map<ProcessSymbols, Block[]>();
  #outside = 0;

  /** Blocks found outside every module by `settle`. */
  get outsideBlocks(): number {
    return this.#outside;
  }

  add(process: ProcessSymbols, block: Block): void {
    if (!this.#attribute(process, block)) {
      const list = this.#pending.get(process) ?? [];
      list.push(block);
      this.#pending.set(process, list);
    }
  }

  /** Retries blocks that were outside every module when added. */
  settle(): void {
    for (const [process, blocks] of this.#pending) {
      for (const block of blocks) if (!this.#attribute(process, block)) this.#outside++;
    }
    this.#pending.clear();
  }

  /** Every module of `processes` (covered or not), each file and place once,
   *  in the order the processes list them, with its blocks. */
  modules(processes: Iterable<ProcessSymbols>): ModuleCoverage[] {
    const out = new Map<string, ModuleCoverage>();
    for (const process of processes) {
      for (const module of process.modules) {
        const key = moduleKey(module);
        if (!out.has(key)) out.set(key, this.#byModule.get(key) ?? { module, blocks: new Map() });
      }
    }
    for (const [key, coverage] of this.#byModule) if (!out.has(key)) out.set(key, coverage);
    return [...out.values()];
  }

  #attribute(process: ProcessSymbols, block: Block): boolean {
    const module = process.moduleAt(block.start);
    if (!module) return false;
    const key = moduleKey(module);
    let coverage = this.#byModule.get(key);
    if (!coverage) {
      coverage = { module, blocks: new Map() };
      this.#byModule.set(key, coverage);
    }
    const inside = Math.min(block.bytes, module.end - block.start);
    if (inside < block.bytes) this.add(process, { start: module.end, bytes: block.bytes - inside });
    const known = coverage.blocks.get(block.start) ?? 0;
    if (inside > known) coverage.blocks.set(block.start, inside);
    return true;
  }
}
