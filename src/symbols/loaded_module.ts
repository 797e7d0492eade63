// SPDX-License-Identifier: MIT
//! A module placed in a guest process's address space: an ELF file at a
//! load bias. bias = where the PT_LOAD at file offset 0 was mapped − its
//! p_vaddr (0 for a fixed-address ET_EXEC), so link-time address = runtime
//! address − bias.
import { basename } from "node:path";
import type { ModuleFile } from "./module_file";

export interface LoadedModule {
  /** Guest path of the file. */
  readonly path: string;
  /** File name, as `symbolize` prints it. */
  readonly name: string;
  /** Runtime address of the module's first byte (file offset 0). */
  readonly start: number;
  /** Runtime address one past the module's last byte (end of its last PT_LOAD). */
  readonly end: number;
  readonly bias: number;
  /** Runtime entry point. */
  readonly entry: number;
  readonly file: ModuleFile;
}

/** Places `file` at `bias`. */
export function placeModule(file: ModuleFile, bias: number): LoadedModule {
  const span = file.elf.loadSpan;
  return {
    path: file.guestPath,
    name: basename(file.guestPath),
    start: bias + span.low,
    end: bias + span.high,
    bias,
    entry: bias + file.elf.entry,
    file,
  };
}
