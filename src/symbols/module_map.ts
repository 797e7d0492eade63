// SPDX-License-Identifier: MIT
//! The modules mapped in one guest process, by address. A module leaves the
//! live map when a munmap covers all of it (dlclose unmaps a library's
//! whole range in one call; the loader's partial unmaps of gaps and tails do
//! not remove it) or when another module is placed over its start; it is
//! then kept as retired, so that addresses looked up late (another thread's
//! stream, coverage resolved at the end) still find what was there.
import type { LoadedModule } from "./loaded_module";

export class ModuleMap {
  /** Live modules sorted by start. */
  #live: LoadedModule[] = [];
  /** Removed modules, most recently removed last. */
  #retired: LoadedModule[] = [];

  /** A copy (for a forked child, which inherits its parent's mappings). */
  clone(): ModuleMap {
    const copy = new ModuleMap();
    copy.#live = [...this.#live];
    copy.#retired = [...this.#retired];
    return copy;
  }

  get live(): readonly LoadedModule[] {
    return this.#live;
  }

  get retired(): readonly LoadedModule[] {
    return this.#retired;
  }

  add(module: LoadedModule): void {
    const displaced = this.#live.filter((m) => module.start <= m.start && m.start < module.end);
    for (const m of displaced) this.#retire(m);
    let i = this.#live.findIndex((m) => m.start > module.start);
    if (i < 0) i = this.#live.length;
    this.#live.splice(i, 0, module);
  }

  /** A munmap of [addr, addr + length): retires the modules wholly inside. */
  unmap(addr: number, length: number): void {
    for (const m of this.#live.filter((m) => m.start >= addr && m.end <= addr + length)) this.#retire(m);
  }

  /** The live module holding `addr`, else the last retired one that did. */
  find(addr: number): LoadedModule | null {
    const live = this.#live;
    let lo = 0;
    let hi = live.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const m = live[mid]!;
      if (addr < m.start) hi = mid - 1;
      else if (addr >= m.end) lo = mid + 1;
      else return m;
    }
    for (let i = this.#retired.length - 1; i >= 0; i--) {
      const m = this.#retired[i]!;
      if (addr >= m.start && addr < m.end) return m;
    }
    return null;
  }

  /** The live module loaded from `path` that overlaps [addr, addr + length). */
  findFile(path: string, addr: number, length: number): LoadedModule | null {
    return this.#live.find((m) => m.path === path && m.start < addr + length && addr < m.end) ?? null;
  }

  #retire(module: LoadedModule): void {
    this.#live = this.#live.filter((m) => m !== module);
    this.#retired.push(module);
  }
}
