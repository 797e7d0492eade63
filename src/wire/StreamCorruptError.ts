// SPDX-License-Identifier: MIT
//! The one error for a trace stream that fails validation, whether the
//! mempipe's shared memory (PipeReader) or the records in a chunk (walk.ts,
//! the native decoder) are at fault: the producer is untrusted, and a run
//! names the damage in one line rather than crashing on it.
export class StreamCorruptError extends Error {}
