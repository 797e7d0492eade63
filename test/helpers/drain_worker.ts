//! Test Worker: drains one pipe, posting each chunk (copied) or just counts,
//! so tests can check ordering and contents across several consumers.
import type { Pointer } from "bun:ffi";
import { PipeReader, StreamCorruptError } from "../../src/mempipe/PipeReader";

declare const self: Worker;

self.onmessage = (event: MessageEvent<{ consumer: Pointer; copy: boolean }>) => {
  const reader = new PipeReader(event.data.consumer);
  let idleRounds = 0;
  let bytes = 0;
  let messages = 0;
  try {
    for (;;) {
      const chunk = reader.claim();
      if (chunk === "ended") break;
      if (chunk === "not-ready") {
        if (++idleRounds > 64) Bun.sleepSync(0.2);
        continue;
      }
      idleRounds = 0;
      bytes += chunk.bytes.length;
      if (event.data.copy) {
        self.postMessage({ ticket: chunk.ticket, bytes: chunk.bytes.slice() });
      } else {
        // Walk the u16-length-prefixed messages in place, as a tracer would.
        const view = chunk.bytes;
        let at = 0;
        while (at + 2 <= view.length) {
          at += 2 + (view[at]! | (view[at + 1]! << 8));
          messages++;
        }
      }
      reader.release(chunk.ticket);
    }
    self.postMessage({ done: true, bytes, messages });
  } catch (error) {
    const message = error instanceof StreamCorruptError ? error.message : String(error);
    self.postMessage({ done: true, error: message, bytes, messages });
  }
};
