// SPDX-License-Identifier: MIT
//! The consumer's end of the hand-over socket (main thread). Creates the
//! private 0700 directory and socket that producers connect to, and turns the
//! native listener's events into typed ones.
import { accessSync, chmodSync, constants, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ptr, type Pointer } from "bun:ffi";
import { ListenerEvent, ListenerEventKind, RejectReason } from "../consumer_abi.generated";
import { consumerLibrary, describe, rejectReasonText } from "./native";
import { makePrivateDirectory, privateDirectoryPrefix } from "../runtime/private_directory";

export type PipeEvent =
  | { kind: "opened"; connection: number; consumer: Pointer; handshake: string }
  | { kind: "gone"; connection: number; consumer: Pointer }
  /** The socket closed while the stream is open: the guest closed the
   *  descriptor (it shares QEMU's table) or the producer died. Call
   *  `markGone` once the producer's thread is gone or `closedClean` says so. */
  | { kind: "hung-up"; connection: number; consumer: Pointer }
  | { kind: "rejected"; connection: number; reason: string };

/** The longest socket path a Unix socket takes (sun_path, NUL excluded). */
const socketPathBytesMax = 107;
const socketName = "pipe.sock";

/** Where a private directory holding a socket goes: $XDG_RUNTIME_DIR (per
 *  user, cleared at logout) when there is a usable one, else the temp
 *  directory, else /tmp when the others would make the path of socket
 *  `name` in a directory `prefix` + 6 characters (mkdtemp) too long. */
export function socketDirectoryBase(prefix: string, name: string): string {
  const socketPathBytes = (base: string): number => Buffer.byteLength(join(base, `${prefix}XXXXXX`, name));
  const candidates: string[] = [];
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime && !runtime.includes(",")) {
    try {
      accessSync(runtime, constants.W_OK | constants.X_OK);
      candidates.push(runtime);
    } catch {
      // not ours or gone: fall back
    }
  }
  // The socket's path goes into QEMU's comma-separated plugin argument.
  if (!tmpdir().includes(",")) candidates.push(tmpdir());
  candidates.push("/tmp");
  return candidates.find((base) => socketPathBytes(base) <= socketPathBytesMax) ?? candidates[0]!;
}

export class PipeListener {
  readonly dir: string;
  readonly socketPath: string;
  #handle: Pointer | null;
  readonly #eventWords = new Uint32Array(ListenerEvent.length);
  readonly #payload: Uint8Array;

  constructor() {
    const lib = consumerLibrary();
    this.dir = makePrivateDirectory(socketDirectoryBase(privateDirectoryPrefix(), socketName));
    chmodSync(this.dir, 0o700);
    this.socketPath = join(this.dir, socketName);
    const handle = lib.cnl_listener_open(Buffer.from(`${this.socketPath}\0`)) as Pointer | null;
    if (handle === null) {
      rmSync(this.dir, { recursive: true, force: true });
      const tooLong = Buffer.byteLength(this.socketPath) > socketPathBytesMax;
      throw new Error(
        `cannoli: cannot listen on ${this.socketPath}${tooLong ? ` (longer than the ${socketPathBytesMax} bytes a Unix socket's path holds: set TMPDIR to a shorter directory)` : ""}`,
      );
    }
    this.#handle = handle;
    this.#payload = new Uint8Array(lib.cnl_handshake_payload_bytes_max());
  }

  /** Refuses the stream just opened on `connection` (its handshake did not
   *  parse): closes its socket and destroys its consumer. */
  refuse(connection: number, consumer: Pointer): void {
    if (this.#handle === null || !consumerLibrary().cnl_listener_refuse(this.#handle, connection)) throw new Error(`cannoli: no open stream on connection ${connection}`);
    consumerLibrary().cnl_consumer_destroy(consumer);
  }

  /** The producer of a hung-up stream is gone: what it published drains. */
  static markGone(consumer: Pointer): void {
    consumerLibrary().cnl_consumer_mark_gone(consumer);
  }

  /** Whether the producer said it closed its stream. */
  static closedClean(consumer: Pointer): boolean {
    return consumerLibrary().cnl_consumer_closed_clean(consumer) !== 0;
  }

  /** Returns the next event, waiting at most `timeoutMs` for one. */
  poll(timeoutMs = 0): PipeEvent | null {
    if (this.#handle === null) return null;
    const lib = consumerLibrary();
    const words = this.#eventWords;
    const kind = lib.cnl_listener_poll(this.#handle, timeoutMs, ptr(words), ptr(this.#payload), this.#payload.length);
    const connection = words[ListenerEvent.connection]!;
    // A u64 pointer in two words; user-space addresses fit a double exactly.
    const consumer = (words[ListenerEvent.consumer]! + words[ListenerEvent.consumer + 1]! * 2 ** 32) as Pointer;
    switch (kind) {
      case ListenerEventKind.pipe_opened: {
        const bytes = this.#payload.subarray(0, words[ListenerEvent.payload_bytes]!);
        return { kind: "opened", connection, consumer, handshake: new TextDecoder().decode(bytes) };
      }
      case ListenerEventKind.producer_gone:
        return { kind: "gone", connection, consumer };
      case ListenerEventKind.hung_up:
        return { kind: "hung-up", connection, consumer };
      case ListenerEventKind.rejected:
        return { kind: "rejected", connection, reason: describe(RejectReason, rejectReasonText, words[ListenerEvent.reason]!, "unknown reason") };
      default:
        return null;
    }
  }

  /** Accepts streams only from this process's descendants (the QEMU the
   *  session starts, and the guest's forks of it, also once their parent
   *  QEMU has exited: this process becomes their subreaper). */
  allowOnlyDescendants(): void {
    if (this.#handle !== null && !consumerLibrary().cnl_listener_allow_descendants(this.#handle)) {
      throw new Error("cannoli: cannot become the subreaper of its QEMU processes (prctl PR_SET_CHILD_SUBREAPER)");
    }
  }

  /** Stops listening and removes the private directory. Idempotent. */
  close(): void {
    if (this.#handle !== null) consumerLibrary().cnl_listener_close(this.#handle);
    this.#handle = null;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
