// SPDX-License-Identifier: MIT
//! Parses and validates the JSON handshake a producer sends with its pipe
//! (written by zig-src/server/plugin.zig). It comes from inside QEMU, so
//! every field is checked before it becomes a ThreadInfo.
import { protocolVersion } from "../wire/records.generated";
import type { ThreadInfo } from "../tracer";

export class HandshakeError extends Error {}

/** The server speaks another protocol version: a wrong server library, which
 *  every stream of the run shares (unlike a single malformed handshake), or
 *  a recording made by another cannoli. */
export class ProtocolMismatchError extends HandshakeError {
  constructor(
    readonly protocol: number,
    message = `cannoli: server speaks protocol ${protocol}, this cannoli speaks ${protocolVersion}`,
  ) {
    super(message);
  }
}

function field<T>(object: Record<string, unknown>, name: string, check: (v: unknown) => v is T): T {
  const value = object[name];
  if (!check(value)) throw new HandshakeError(`cannoli: bad handshake: field ${name} is ${JSON.stringify(value)}`);
  return value;
}

const isInt = (v: unknown): v is number => Number.isSafeInteger(v);
const isCount = (v: unknown): v is number => isInt(v) && v >= 0;
const isRegisterList = (v: unknown): v is { name: string; bytes: number }[] =>
  Array.isArray(v) &&
  v.length <= 256 &&
  v.every(
    (r) =>
      typeof r === "object" &&
      r !== null &&
      isString((r as { name?: unknown }).name) &&
      isInt((r as { bytes?: unknown }).bytes) &&
      (r as { bytes: number }).bytes > 0 &&
      (r as { bytes: number }).bytes <= 64,
  );
const isString = (v: unknown): v is string => typeof v === "string" && v.length <= 4096;
/** A path or name: the server's JSON writer sends one that is not UTF-8 as
 *  an array of its bytes. */
const isPathBytes = (v: unknown): v is number[] => Array.isArray(v) && v.length <= 4096 && v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255);
const isPath = (v: unknown): v is string | number[] => isString(v) || isPathBytes(v);
/** The text of a path field (bytes that are not UTF-8 shown as U+FFFD). */
const pathText = (v: string | number[]): string => (typeof v === "string" ? v : new TextDecoder().decode(Uint8Array.from(v)));
const isBool = (v: unknown): v is boolean => typeof v === "boolean";
const isWidth = (v: unknown): v is 4 | 8 => v === 4 || v === 8;

export function parseHandshake(text: string): ThreadInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new HandshakeError("cannoli: bad handshake: not JSON");
  }
  if (typeof raw !== "object" || raw === null) throw new HandshakeError("cannoli: bad handshake: not an object");
  const object = raw as Record<string, unknown>;
  const protocol = field(object, "protocol", isInt);
  if (protocol !== protocolVersion) {
    throw new ProtocolMismatchError(protocol);
  }
  return {
    pid: field(object, "pid", isInt),
    ppid: field(object, "ppid", isInt),
    tid: field(object, "tid", isInt),
    // Absent from servers before exec was followed: their streams are all first images.
    image: object.image === undefined ? 0 : field(object, "image", isCount),
    arch: field(object, "arch", isString),
    pointerBytes: field(object, "pointer_bytes", isWidth),
    bigEndian: field(object, "big_endian", isBool),
    exe: pathText(field(object, "exe", isPath)),
    comm: pathText(field(object, "comm", isPath)),
    backend: field(object, "backend", isString),
    registers: object.registers === undefined ? [] : field(object, "registers", isRegisterList),
  };
}

/** The handshake with `exe` filled in where the server could not learn it
 *  (QEMU 10.0's linux-user binaries do not export
 *  qemu_plugin_path_to_binary): the consumer launched the guest and knows
 *  its path. Kept as text so a recording stores what a live run saw. */
export function withGuestExe(text: string, thread: ThreadInfo, guestExe: string): { text: string; thread: ThreadInfo } {
  if (thread.exe !== "") return { text, thread };
  return { text: JSON.stringify({ ...(JSON.parse(text) as object), exe: guestExe }), thread: { ...thread, exe: guestExe } };
}
