// SPDX-License-Identifier: MIT
//! Cross-process tests of the mempipe: the stand-alone Zig producer in its
//! own process, Bun Workers consuming through FFI.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { drainProducer, recordsChecksum } from "./helpers/pipe_harness";

function producerFigures(stdout: string): { bytes: number; chunks: number; fnv: number } {
  const match = /bytes=(\d+) chunks=(\d+) fnv=0x([0-9a-f]+)/.exec(stdout);
  if (!match) throw new Error(`unexpected producer output: ${stdout}`);
  return { bytes: Number(match[1]), chunks: Number(match[2]), fnv: parseInt(match[3]!, 16) };
}

describe("mempipe across processes", () => {
  for (const workers of [1, 3]) {
    test(`every byte arrives in order with ${workers} consumer Worker(s)`, async () => {
      const result = await drainProducer({ mode: "random", bytes: 8 << 20, chunkBytes: 65536, chunkCount: 8, workers, consume: "post" });
      const sent = producerFigures(result.producerStdout);
      expect(result.workerErrors).toEqual([]);
      expect(result.summary).toMatchObject({ clean: true, chunks: sent.chunks, failure: null, droppedChunks: 0 });
      expect(recordsChecksum(result.chunks)).toEqual({ fnv: sent.fnv, bytes: sent.bytes });
    });
  }

  test("wrap-around over ten thousand chunks keeps a checksum of every byte", async () => {
    const result = await drainProducer({ mode: "random", bytes: 40 << 20, chunkBytes: 4096, chunkCount: 4, workers: 2, consume: "post" });
    const sent = producerFigures(result.producerStdout);
    expect(sent.chunks).toBeGreaterThan(10_000);
    expect(result.summary?.chunks).toBe(sent.chunks);
    expect(recordsChecksum(result.chunks)).toEqual({ fnv: sent.fnv, bytes: sent.bytes });
  });

  test("a stalled consumer blocks the producer; nothing is lost", async () => {
    let producerAliveAfterStall = false;
    const result = await drainProducer({
      mode: "random",
      bytes: 4 << 20,
      chunkBytes: 4096,
      chunkCount: 2,
      consume: "post",
      stallMs: 500,
      onOpened: (producer) => setTimeout(() => (producerAliveAfterStall = producer.exitCode === null), 450),
    });
    const sent = producerFigures(result.producerStdout);
    expect(producerAliveAfterStall).toBe(true);
    expect(result.producerExit).toBe(0);
    expect(recordsChecksum(result.chunks)).toEqual({ fnv: sent.fnv, bytes: sent.bytes });
  });

  test("one-byte messages are all counted", async () => {
    const result = await drainProducer({ mode: "messages", bytes: 2_000_000, workers: 2 });
    expect(result.workerErrors).toEqual([]);
    expect(result.messages).toBe(2_000_000);
    expect(result.summary?.clean).toBe(true);
  });

  test("a producer killed with -9 mid-stream: published chunks drain, the end is abrupt", async () => {
    const result = await drainProducer({
      mode: "forever",
      chunkBytes: 65536,
      chunkCount: 4,
      workers: 2,
      onOpened: (producer) => setTimeout(() => producer.kill(9), 300),
    });
    expect(result.workerErrors).toEqual([]);
    expect(result.producerExit).not.toBe(0);
    expect(result.summary?.clean).toBe(false);
    expect(result.summary?.chunks).toBeGreaterThan(0);
    expect(result.summary?.failure).toBeNull();
  });

  test("a producer that dies before publishing its last chunk loses nothing it wrote", async () => {
    const result = await drainProducer({ mode: "random-then-die", bytes: 3 << 20, chunkBytes: 65536, chunkCount: 8, workers: 2, consume: "post" });
    const sent = producerFigures(result.producerStdout);
    expect(result.producerExit).not.toBe(0);
    expect(result.workerErrors).toEqual([]);
    expect(result.summary).toMatchObject({ clean: false, chunks: sent.chunks, failure: null });
    expect(recordsChecksum(result.chunks)).toEqual({ fnv: sent.fnv, bytes: sent.bytes });
  });

  test("a pipe that is never written: clean end when closed, abrupt when killed", async () => {
    const empty = await drainProducer({ mode: "empty" });
    expect(empty.summary).toMatchObject({ chunks: 0, bytes: 0, clean: true, failure: null });
    const silent = await drainProducer({ mode: "silent", onOpened: (producer) => setTimeout(() => producer.kill(9), 200) });
    expect(silent.summary).toMatchObject({ chunks: 0, clean: false, failure: null });
  });

  test.each([
    ["bad-header", "pipe header is invalid"],
    ["unsealed", "pipe memory is not sealed"],
    ["no-handshake", "connection closed before handshake"],
  ])("a %s producer is refused: %s", async (mode, reason) => {
    const result = await drainProducer({ mode });
    expect(result.rejected).toBe(reason);
  });

  test.each([
    ["bad-mailbox", "bad mailbox state"],
    ["bad-length", "bad chunk length"],
    ["bad-sequence", "bad sequence number"],
  ])("corruption (%s) ends the stream with an error, not a hang", async (mode, failure) => {
    const result = await drainProducer({ mode, workers: 2 });
    expect(result.workerErrors.length).toBeGreaterThan(0);
    for (const error of result.workerErrors) expect(error).toBe(`cannoli: corrupted stream: ${failure}`);
  });

  // The consumer refuses a stream whose handshake it cannot use: the
  // listener must forget it, or the producer's later hang-up makes it read
  // the freed consumer (Bun crashed with a segfault).
  test("a stream refused after it opened is forgotten: its producer's end is no event", async () => {
    const { PipeListener } = await import("../src/mempipe/PipeListener");
    const listener = new PipeListener();
    const producer = Bun.spawn([join(import.meta.dir, "../zig-out/bin/mempipe-producer"), listener.socketPath, "silent"]);
    try {
      let opened: ReturnType<typeof listener.poll> = null;
      for (let waited = 0; !opened && waited < 5000; waited += 5) {
        opened = listener.poll(5);
        if (opened && opened.kind !== "opened") throw new Error(`unexpected event ${opened.kind}`);
      }
      if (opened?.kind !== "opened") throw new Error("the producer's stream never opened");
      listener.refuse(opened.connection, opened.consumer);
      expect(() => listener.refuse(opened.connection, opened.consumer)).toThrow("no open stream on connection");
      producer.kill(9);
      await producer.exited;
      const events = [];
      for (let i = 0; i < 20; i++) {
        const event = listener.poll(10);
        if (event) events.push(event.kind);
      }
      expect(events).toEqual([]);
    } finally {
      producer.kill(9);
      listener.close();
    }
  });
});
