// SPDX-License-Identifier: MIT
//! The consumer's end of the hand-over socket (main thread). Creates the
//! private 0700 directory and socket that producers connect to, and turns the
//! native listener's events into typed ones.
import { mkdtempSync, rmSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ptr, type Pointer } from "bun:ffi";
import { consumerLibrary, EventKind, rejectReasons } from "./native";

export type PipeEvent =
  | { kind: "opened"; connection: number; consumer: Pointer; handshake: string }
  | { kind: "gone"; connection: number; consumer: Pointer }
  | { kind: "rejected"; connection: number; reason: string };

export class PipeListener {
  readonly dir: string;
  readonly socketPath: string;
  #handle: Pointer | null;
  readonly #event = new BigUint64Array(3); // Listener.Event: 24 bytes
  readonly #eventWords = new Uint32Array(this.#event.buffer);
  readonly #payload: Uint8Array;

  constructor() {
    const lib = consumerLibrary();
    this.dir = mkdtempSync(join(tmpdir(), "cannoli-"));
    chmodSync(this.dir, 0o700);
    this.socketPath = join(this.dir, "pipe.sock");
    const handle = lib.cnl_listener_open(Buffer.from(`${this.socketPath}\0`)) as Pointer | null;
    if (handle === null) {
      rmSync(this.dir, { recursive: true, force: true });
      throw new Error(`cannoli: cannot listen on ${this.socketPath}`);
    }
    this.#handle = handle;
    this.#payload = new Uint8Array(lib.cnl_handshake_payload_bytes_max());
  }

  /** Returns the next event, waiting at most `timeoutMs` for one. */
  poll(timeoutMs = 0): PipeEvent | null {
    if (this.#handle === null) return null;
    const lib = consumerLibrary();
    const kind = lib.cnl_listener_poll(this.#handle, timeoutMs, ptr(this.#event), ptr(this.#payload), this.#payload.length);
    const words = this.#eventWords; // kind, connection, consumer (lo, hi), payload_bytes, reason
    const connection = words[1]!;
    const consumer = Number(this.#event[1]!) as Pointer;
    switch (kind) {
      case EventKind.pipeOpened: {
        const bytes = this.#payload.subarray(0, words[4]!);
        return { kind: "opened", connection, consumer, handshake: new TextDecoder().decode(bytes) };
      }
      case EventKind.producerGone:
        return { kind: "gone", connection, consumer };
      case EventKind.rejected:
        return { kind: "rejected", connection, reason: rejectReasons[words[5]!] ?? `unknown reason ${words[5]}` };
      default:
        return null;
    }
  }

  /** Stops listening and removes the private directory. Idempotent. */
  close(): void {
    if (this.#handle !== null) consumerLibrary().cnl_listener_close(this.#handle);
    this.#handle = null;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
