// SPDX-License-Identifier: MIT
//! Reads an ELF file's function symbols: the static table (.symtab) and the
//! dynamic one (.dynsym, what a stripped shared object still has), found
//! through the section headers. Both tables are merged; at one address the
//! .symtab name wins (it also names local functions).
import { EM_ARM, EM_MIPS, type ElfImage } from "./elf_image";
import { FunctionIndex, type FunctionSymbol } from "./function_index";

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const SHN_UNDEF = 0;
const SHN_LORESERVE = 0xff00;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;

/** Function symbols of one symbol-table section. */
function readTable(elf: ElfImage, sectionType: number): FunctionSymbol[] {
  const out: FunctionSymbol[] = [];
  const wide = elf.bits === 64;
  const entryBytes = wide ? 24 : 16;
  // ARM Thumb and microMIPS/MIPS16 functions carry the ISA mode in bit 0.
  const clearModeBit = elf.machine === EM_ARM || elf.machine === EM_MIPS;
  for (const section of elf.sections) {
    if (section.type !== sectionType) continue;
    const strings = elf.sections[section.link];
    if (!strings) continue;
    const count = Math.floor(section.bytes / (section.entryBytes || entryBytes));
    const stride = section.entryBytes || entryBytes;
    for (let i = 1; i < count; i++) {
      const at = section.fileOffset + i * stride;
      if (at + entryBytes > elf.bytes.length) break;
      const nameOffset = elf.u32(at);
      const info = wide ? elf.bytes[at + 4]! : elf.bytes[at + 12]!;
      const shndx = elf.u16(wide ? at + 6 : at + 14);
      const value = wide ? elf.word(at + 8) : elf.u32(at + 4);
      const bytes = wide ? elf.word(at + 16) : elf.u32(at + 8);
      const type = info & 0xf;
      if ((type !== STT_FUNC && type !== STT_GNU_IFUNC) || shndx === SHN_UNDEF || (shndx >= SHN_LORESERVE && shndx !== 0xfff1) || value === 0) continue;
      const name = elf.cString(strings.fileOffset + nameOffset, strings.bytes - nameOffset);
      if (name === "") continue;
      out.push({ name, addr: clearModeBit ? value - (value % 2) : value, bytes });
    }
  }
  return out;
}

/** All function symbols of `elf`, .symtab first, then .dynsym. */
export function readFunctionIndex(elf: ElfImage): FunctionIndex {
  return new FunctionIndex([...readTable(elf, SHT_SYMTAB), ...readTable(elf, SHT_DYNSYM)]);
}
