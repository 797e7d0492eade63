// SPDX-License-Identifier: MIT
//! Symbolizes guest PCs as `module!function+0xoff` for every guest process
//! of a run, from the guest's ELF symbol tables (.symtab and .dynsym) and
//! those of every file it maps.
//!
//! Where it runs — the ordered stage. A process's module map is built from
//! ThreadInfo.exe plus the process's mmap/munmap events, and those events
//! live in the trace stream. Workers decode a thread's chunks in any order,
//! so a Worker on chunk N may not have seen the mmaps of chunks < N; a
//! Worker-side symbolizer would have to defer every PC outside the main
//! executable and fix it up later. In `trace` (in execution order per
//! thread) the map is always current, and the cost stays small: lookups are
//! a binary search plus a per-process pc → text cache, and with `--once`
//! each PC comes once. So: a tracer pushes exec PCs and mmap/munmap events
//! as items, and calls `process(thread).mmap/munmap/symbolize` in `trace`.
//! Threads of one process share its map; an mmap made by one thread becomes
//! visible to another when the first thread's chunk is traced (a rare
//! cross-thread race: such a PC is found among the modules at the end, or
//! stays unresolved). A forked child starts from a copy of its parent's map.
import { resolve } from "node:path";
import type { ThreadInfo } from "../tracer";
import { ElfImage, ET_EXEC } from "./elf_image";
import { placeModule } from "./loaded_module";
import { type ModuleFile, ModuleFiles } from "./module_file";
import { ModuleMap } from "./module_map";
import { ProcessSymbols } from "./process_symbols";

export interface SymbolizerOptions {
  /** Where a dynamic guest's libraries live (cannoli run's --sysroot);
   *  QEMU_LD_PREFIX and /usr/<gnu-triple> are tried without it. */
  readonly sysroot?: string;
}

export class Symbolizer {
  readonly #options: SymbolizerOptions;
  readonly #processes = new Map<number, ProcessSymbols>();
  /** Every (pid, image) seen, keyed `pid.image`: an exec'd program's streams
   *  and the last ones of the program before it may interleave. */
  readonly #images = new Map<string, ProcessSymbols>();
  #files: ModuleFiles | undefined;

  constructor(options: SymbolizerOptions = {}) {
    this.#options = options;
  }

  /** Every guest process seen so far, by pid (its latest image). */
  get processes(): ReadonlyMap<number, ProcessSymbols> {
    return this.#processes;
  }

  /** The process `thread` belongs to, made on first use: a forked child
   *  (its ppid is a process seen before) copies its parent's map; otherwise
   *  — a first process, or a program a process exec'd — the map starts with
   *  the main executable (ThreadInfo.exe). */
  process(thread: ThreadInfo): ProcessSymbols {
    const key = `${thread.pid}.${thread.image}`;
    const known = this.#images.get(key);
    if (known) return known;
    const files = this.#filesFor(thread);
    const parent = thread.image === 0 ? this.#processes.get(thread.ppid) : undefined;
    let symbols: ProcessSymbols;
    if (parent) symbols = new ProcessSymbols(thread.pid, thread.image, files, parent.forkMap(), []);
    else {
      const map = new ModuleMap();
      const unplaced: ModuleFile[] = [];
      const exe = files.get(resolve(thread.exe));
      if (exe) {
        const interpreter = exe.elf.interpreter === null ? null : files.get(exe.elf.interpreter);
        if (exe.elf.type === ET_EXEC) map.add(placeModule(exe, 0));
        else if (!interpreter) unplaced.push(exe);
        if (interpreter) unplaced.push(interpreter);
      }
      symbols = new ProcessSymbols(thread.pid, thread.image, files, map, unplaced);
    }
    this.#images.set(key, symbols);
    const latest = this.#processes.get(thread.pid);
    if (!latest || latest.image <= thread.image) this.#processes.set(thread.pid, symbols);
    return symbols;
  }

  /** Shorthand for `process(thread).symbolize(pc)`. */
  symbolize(thread: ThreadInfo, pc: number): string | null {
    return this.process(thread).symbolize(pc);
  }

  #filesFor(thread: ThreadInfo): ModuleFiles {
    this.#files ??= new ModuleFiles(thread.arch, ElfImage.tryRead(thread.exe)?.machine ?? null, this.#options.sysroot);
    return this.#files;
  }
}
