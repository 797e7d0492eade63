// SPDX-License-Identifier: MIT
//! A guest file that can be loaded as a module: its ELF structure, read once
//! per run, and its function symbols, read the first time one is needed.
//! Files are looked up by guest path (see host_path.ts) and cached.
import { ElfImage } from "./elf_image";
import { readFunctionIndex } from "./elf_symbols";
import type { FunctionIndex } from "./function_index";
import { hostCandidates } from "./host_path";

export class ModuleFile {
  /** The path the guest used (what the module table shows). */
  readonly guestPath: string;
  /** The file read on the host. */
  readonly hostPath: string;
  readonly elf: ElfImage;
  #functions: FunctionIndex | undefined;

  constructor(guestPath: string, hostPath: string, elf: ElfImage) {
    this.guestPath = guestPath;
    this.hostPath = hostPath;
    this.elf = elf;
  }

  /** Function symbols (.symtab and .dynsym); empty for a stripped file. */
  get functions(): FunctionIndex {
    this.#functions ??= readFunctionIndex(this.elf);
    return this.#functions;
  }
}

/** Finds and caches module files for one guest architecture. */
export class ModuleFiles {
  readonly #arch: string;
  readonly #machine: number | null;
  readonly #sysroot: string | undefined;
  readonly #byGuestPath = new Map<string, ModuleFile | null>();

  /** `machine` (ELF e_machine of the guest) filters out host files of
   *  another architecture; null accepts any. */
  constructor(arch: string, machine: number | null, sysroot?: string) {
    this.#arch = arch;
    this.#machine = machine;
    this.#sysroot = sysroot;
  }

  /** The ELF file behind a guest path, or null (missing, unreadable, not ELF). */
  get(guestPath: string): ModuleFile | null {
    const cached = this.#byGuestPath.get(guestPath);
    if (cached !== undefined) return cached;
    let found: ModuleFile | null = null;
    for (const hostPath of hostCandidates(guestPath, this.#arch, this.#sysroot)) {
      const elf = ElfImage.tryRead(hostPath);
      if (elf && (this.#machine === null || elf.machine === this.#machine)) {
        found = new ModuleFile(guestPath, hostPath, elf);
        break;
      }
    }
    this.#byGuestPath.set(guestPath, found);
    return found;
  }
}
