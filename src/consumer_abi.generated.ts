// SPDX-License-Identifier: MIT
// Generated from zig-src by `zig build consumer-abi-ts`. Do not edit.
export const ClaimStatus = {
  claimed: 0,
  not_ready: 1,
  ended: 2,
  failed: 3,
} as const;
export const StreamFailure = {
  none: 0,
  bad_state: 1,
  bad_sequence: 2,
  bad_length: 3,
  lost_chunks: 4,
} as const;
export const ListenerEventKind = {
  none: 0,
  pipe_opened: 1,
  producer_gone: 2,
  rejected: 3,
  hung_up: 4,
} as const;
export const RejectReason = {
  none: 0,
  closed_before_handshake: 1,
  bad_handshake: 2,
  no_memfd: 3,
  pipe_not_sealed: 4,
  pipe_bad_header: 5,
  too_many_connections: 6,
  out_of_memory: 7,
  system: 8,
  not_traced_process: 9,
} as const;
export const DecodeStatus = {
  ok: 0,
  corrupt: 1,
  columns_too_small: 2,
  out_of_memory: 3,
  bad_argument: 4,
} as const;
/** wire.decoder_abi.Column: the bit `1 << n` of DecoderColumns.wanted. */
export const DecoderColumn = {
  exec_pc: 0,
  mem_pc: 1,
  mem_addr: 2,
  mem_size: 3,
  mem_is_store: 4,
  mem_value_lo: 5,
  mem_value_hi: 6,
  mem_value_upper: 7,
  mem_exec_index: 8,
  mem_flags: 9,
  runs: 10,
  others: 11,
  registers: 12,
} as const;
export const noBlockId = 0xffffffff;
export const blockPcsSlack = 16;
/** mempipe.c_api.ClaimOut: index of each field in a BigUint64 array over it. */
export const ClaimOut = {
  ticket: 0,
  offset: 1,
  length_and_failure: 2,
  length: 3,
} as const;
/** mempipe.c_api.SummaryOut: index of each field in a BigUint64 array over it. */
export const SummaryOut = {
  chunks: 0,
  bytes: 1,
  clean: 2,
  dropped_chunks: 3,
  failure: 4,
  length: 5,
} as const;
/** mempipe.Listener.Event: index of each field in a Uint32 array over it. */
export const ListenerEvent = {
  kind: 0,
  connection: 1,
  consumer: 2,
  payload_bytes: 4,
  reason: 5,
  length: 6,
} as const;
/** wire.decoder_abi.Counts: index of each field in a Uint32 array over it. */
export const DecoderCounts = {
  instructions: 0,
  reads: 1,
  writes: 2,
  syscalls: 3,
  others: 4,
  exited: 5,
  corrupt_word: 6,
  sized_execs: 7,
  runs: 8,
  register_entries: 9,
  length: 10,
} as const;
/** wire.decoder_abi.Columns: index of each field in a BigUint64 array over it. */
export const DecoderColumns = {
  wanted: 0,
  exec_pc: 1,
  exec_capacity: 2,
  mem_capacity: 3,
  mem_pc: 4,
  mem_addr: 5,
  mem_size: 6,
  mem_is_store: 7,
  mem_value_lo: 8,
  mem_value_hi: 9,
  mem_value_upper_lo: 10,
  mem_value_upper_hi: 11,
  mem_exec_index: 12,
  mem_flags: 13,
  block_pcs: 14,
  block_pcs_capacity: 15,
  run_capacity: 16,
  run_pcs_at: 17,
  run_length: 18,
  run_first_exec: 19,
  run_block_id: 20,
  other_capacity: 21,
  other_kind: 22,
  other_word: 23,
  other_exec: 24,
  reg_capacity: 25,
  reg_exec: 26,
  reg_index: 27,
  reg_value_lo: 28,
  reg_value_hi: 29,
  length: 30,
} as const;
