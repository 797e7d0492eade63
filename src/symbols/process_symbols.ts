// SPDX-License-Identifier: MIT
//! Symbolization for one guest process: its module map, kept up to date
//! from the process's mmap/munmap events, and `symbolize(pc)`.
//!
//! What the mmap events cannot tell: qemu-user loads the main executable
//! and the dynamic loader itself, before the guest runs, so neither shows up
//! as an mmap. A fixed-address executable (ET_EXEC) needs nothing. A
//! position-independent one, or the loader of a dynamic executable, is
//! placed from the first PC the process executes: that is the loader's entry
//! point (dynamic executable) or the executable's (static PIE), so
//! bias = first pc − e_entry, accepted when page-aligned. A tracer that
//! symbolizes exec events in order gives that PC first by itself; any other
//! calls `enter(firstPc)` once (e.g. with a batch's `execPc[0]` of the
//! thread's first chunk) before symbolizing anything. A PIE executable that
//! also has a loader stays unplaced: its PCs fall outside every module.
import type { MmapEvent, MunmapEvent } from "../tracer";
import type { LoadedModule } from "./loaded_module";
import { placeModule } from "./loaded_module";
import type { ModuleFile, ModuleFiles } from "./module_file";
import { ModuleMap } from "./module_map";

/** Where a PC is: module, and function when the module has symbols. */
export interface SymbolLocation {
  readonly module: LoadedModule;
  /** pc − module.start. */
  readonly moduleOffset: number;
  /** The containing function's name, or null (stripped, or between functions). */
  readonly function: string | null;
  /** pc − the function's start (0 when `function` is null). */
  readonly functionOffset: number;
}

const pageBytes = 4096;
/** Entries kept in the per-process pc → text cache before it is reset. */
const cacheEntriesMax = 1 << 20;

export class ProcessSymbols {
  readonly pid: number;
  /** Execs of `pid` before this program (ThreadInfo.image). */
  readonly image: number;
  readonly #files: ModuleFiles;
  readonly #map: ModuleMap;
  /** Files to place from the first executed PC (see the header). */
  #unplaced: ModuleFile[];
  #sawFirstPc: boolean;
  #cache = new Map<number, string | null>();

  /** `unplaced`: files to place from the first PC; empty for a forked child
   *  (its map is a copy of the parent's). */
  constructor(pid: number, image: number, files: ModuleFiles, map: ModuleMap, unplaced: ModuleFile[]) {
    this.pid = pid;
    this.image = image;
    this.#files = files;
    this.#map = map;
    this.#unplaced = unplaced;
    this.#sawFirstPc = unplaced.length === 0;
  }

  /** Every module this process has had, live ones first. */
  get modules(): readonly LoadedModule[] {
    return [...this.#map.live, ...this.#map.retired];
  }

  /** A copy of the module map, for a forked child. */
  forkMap(): ModuleMap {
    return this.#map.clone();
  }

  /** Applies a successful mmap: a mapping at file offset 0 of an ELF file
   *  starts a module (unless it lies in one of the same file already); a
   *  later segment of a file seen for the first time places the file from
   *  that segment. Anonymous and non-ELF mappings are ignored. */
  mmap(event: MmapEvent): void {
    if (event.path === null) return;
    if (this.#map.findFile(event.path, event.addr, event.length)) return;
    const file = this.#files.get(event.path);
    if (!file) return;
    let bias: number | null = null;
    if (event.offset === 0) {
      const first = file.elf.firstLoad;
      if (first) bias = event.addr - (first.vaddr - first.fileOffset);
    } else {
      const segment = file.elf.loads.find((s) => s.fileOffset - (s.fileOffset % pageBytes) === event.offset);
      if (segment) bias = event.addr - (segment.vaddr - (segment.vaddr % pageBytes));
    }
    if (bias === null) return;
    this.#map.add(placeModule(file, bias));
    this.#cache.clear();
  }

  munmap(event: MunmapEvent): void {
    this.#map.unmap(event.addr, event.length);
    this.#cache.clear();
  }

  /** Tells the process the first PC it executed (the dynamic loader's entry,
   *  or a static PIE's): places the modules QEMU loaded itself. Without it,
   *  the first PC ever looked up is taken for it, which is right only when
   *  exec events are symbolized in order. Later calls do nothing. */
  enter(firstPc: number): void {
    if (!this.#sawFirstPc) this.#placeFromFirstPc(firstPc);
  }

  /** The module holding `pc` (live, else retired), or null. */
  moduleAt(pc: number): LoadedModule | null {
    if (!this.#sawFirstPc) this.#placeFromFirstPc(pc);
    return this.#map.find(pc);
  }

  /** Module, function and offsets of `pc`, or null outside every module. */
  resolve(pc: number): SymbolLocation | null {
    const module = this.moduleAt(pc);
    if (!module) return null;
    const fn = module.file.functions.lookup(pc - module.bias);
    return {
      module,
      moduleOffset: pc - module.start,
      function: fn ? fn.name : null,
      functionOffset: fn ? pc - module.bias - fn.addr : 0,
    };
  }

  /** `module!function+0xoff`, or `module+0xoff` (offset from the module's
   *  start) when no function holds `pc`, or null outside every module. */
  symbolize(pc: number): string | null {
    const cached = this.#cache.get(pc);
    if (cached !== undefined) return cached;
    const where = this.resolve(pc);
    const text =
      where === null
        ? null
        : where.function === null
          ? `${where.module.name}+0x${where.moduleOffset.toString(16)}`
          : `${where.module.name}!${where.function}+0x${where.functionOffset.toString(16)}`;
    if (this.#cache.size >= cacheEntriesMax) this.#cache.clear();
    this.#cache.set(pc, text);
    return text;
  }

  #placeFromFirstPc(pc: number): void {
    this.#sawFirstPc = true;
    if (this.#map.find(pc)) return;
    for (const file of this.#unplaced) {
      const bias = pc - file.elf.entry;
      if (bias >= 0 && bias % pageBytes === 0) {
        this.#map.add(placeModule(file, bias));
        this.#cache.clear();
        break;
      }
    }
    this.#unplaced = [];
  }
}
