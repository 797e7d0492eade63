// SPDX-License-Identifier: MIT
//! `--tracer print --symbols` (the built-in `print-symbols`): `print`'s
//! lines, with each exec line followed by the PC's symbol:
//!   <thread> exec 0x<pc> <module>!<function>+0x<off>
//!   <thread> exec 0x<pc> <module>+0x<off>        (no function there)
//!   <thread> exec 0x<pc>                         (outside every module)
//! Workers format every other line as `print` does; exec PCs and
//! mmap/munmap events travel as data, and the ordered stage symbolizes them
//! (src/symbols/symbolizer.ts says why there).
import { Symbolizer, type SymbolizerOptions } from "../symbols/symbolizer";
import { type MmapEvent, type MunmapEvent, type ThreadInfo, type Tracer, defineTracer, threadLabel } from "../tracer";
import print from "./print";

type Item = string | number | { mmap: MmapEvent; line: string } | { munmap: MunmapEvent; line: string };
type Ctx = { prefix: string; lines: string[] };

export function printSymbolsTracer(options: SymbolizerOptions = {}): Tracer<Ctx, Item, Symbolizer> {
  const lineOf = (ctx: Ctx, emit: (ctx: Ctx, out: string[]) => void): string => {
    const out: string[] = [];
    emit(ctx, out);
    return out.join("");
  };
  return defineTracer<Ctx, Item, Symbolizer>({
    context: print.context,
    exec(_ctx, event, out) {
      out.push(event.pc);
    },
    read: print.read,
    write: print.write,
    syscall: print.syscall,
    sysret: print.sysret,
    mmap(ctx, event, out) {
      out.push({ mmap: event, line: lineOf(ctx, (c, o) => print.mmap!(c, event, o)) });
    },
    munmap(ctx, event, out) {
      out.push({ munmap: event, line: lineOf(ctx, (c, o) => print.munmap!(c, event, o)) });
    },
    init: () => new Symbolizer(options),
    trace(symbolizer, items, thread: ThreadInfo, output) {
      const process = symbolizer.process(thread);
      const prefix = threadLabel(thread);
      const text: string[] = [];
      for (const item of items) {
        if (typeof item === "number") {
          const symbol = process.symbolize(item);
          text.push(`${prefix} exec 0x${item.toString(16)}${symbol === null ? "" : ` ${symbol}`}\n`);
        } else if (typeof item === "string") text.push(item);
        else {
          if ("mmap" in item) process.mmap(item.mmap);
          else process.munmap(item.munmap);
          text.push(item.line);
        }
      }
      output.write(text.join(""));
    },
    threadEnd: print.threadEnd as Tracer<Ctx, Item, Symbolizer>["threadEnd"],
  });
}

export default printSymbolsTracer();
