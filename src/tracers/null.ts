// SPDX-License-Identifier: MIT
//! `--tracer null`: decodes and counts, calls nothing: the transport's cost.
import { defineTracer } from "../tracer";

export default defineTracer({});
