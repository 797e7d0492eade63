// SPDX-License-Identifier: MIT
//! Worker side of the ordered-stage hop microbenchmark: answers each request
//! with the items of one chunk, posted the way the runtime posts them.
declare const self: Worker;

let items: unknown[] = [];

self.onmessage = (event: MessageEvent<{ items?: unknown[] }>) => {
  if (event.data.items) {
    items = event.data.items;
    self.postMessage({ ready: true });
    return;
  }
  self.postMessage({ type: "chunk", id: 0, ticket: 0, items, counts: { instructions: 0, reads: 0, writes: 0, syscalls: 0, exited: false } });
};
