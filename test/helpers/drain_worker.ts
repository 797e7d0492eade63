// SPDX-License-Identifier: MIT
//! Test and benchmark Worker: drains one pipe, posting each chunk (copied),
//! counting its messages in place, or copying it out (bulk benchmark).
import type { Pointer } from "bun:ffi";
import { PipeReader } from "../../src/mempipe/PipeReader";
import { StreamCorruptError } from "../../src/wire/StreamCorruptError";

declare const self: Worker;

export type Consume = "post" | "messages" | "memcpy";

self.onmessage = (event: MessageEvent<{ consumer: Pointer; consume: Consume }>) => {
  const consume = event.data.consume;
  const scratch = new Uint8Array(consume === "memcpy" ? 16 << 20 : 0);
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
      if (consume === "post") {
        self.postMessage({ ticket: chunk.ticket, bytes: chunk.bytes.slice() });
      } else if (consume === "memcpy") {
        scratch.set(chunk.bytes);
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
