export declare const repoRoot: string;
export type Arch = "mipsel" | "aarch64" | "riscv64" | "x86_64";
export declare const ARCHES: readonly Arch[];
/** One memory access as execlog shows it: no size, no value. */
export interface OracleAccess {
    store: boolean;
    addr: bigint;
}
/** One executed instruction and its memory accesses, in execution order. */
export interface OracleInsn {
    pc: bigint;
    accesses: OracleAccess[];
}
export interface ParsedExeclog {
    /** Per vCPU index (threads reuse indices once one has exited). */
    cpus: Map<number, OracleInsn[]>;
    /** Number of records (= executed instructions, per FORMATS.md). */
    records: number;
    /** Records that were glued onto the previous record's line. */
    glued: number;
    /** Non-empty text that is neither an execlog record nor a known line of
     * the other oracles (insn, mem); should stay empty. */
    unparsed: string[];
}
export interface InsnOutput {
    /** `total insns: N`, one per process that exited normally, in the order
     * they were printed (fork: the child exits first, so it comes first). */
    totals: number[];
    /** `cpu <i> insns: <n>` lines, grouped per process (same order as totals). */
    perCpu: Map<number, number>[];
    /** `detected repeat execution` lines. */
    repeats: number;
}
export interface OracleRun {
    argv: string[];
    cwd: string;
    env: Record<string, string>;
    exitCode: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    /** The QEMU log (`-d plugin -D file`): everything the plugins printed. */
    log: string;
    execlog?: ParsedExeclog;
    insn?: InsnOutput;
    /** `callback mem accesses: N`, one per process, in print order. */
    memCounts?: number[];
}
export interface OracleOptions {
    execlog?: boolean;
    insn?: boolean;
    mem?: boolean;
    cwd?: string;
    env?: Record<string, string>;
    timeoutMs?: number;
    /** [default: QEMU_7_2] */
    qemu?: QemuUnderTest;
}
/** One QEMU the suite runs cannoli and the oracles on. */
export interface QemuUnderTest {
    /** "7.2" or "10.0", as test titles show it. */
    name: string;
    arches: readonly Arch[];
    /** qemu-<arch>; `env.PATH` is searched for the distribution's. */
    binary(arch: Arch, env?: Record<string, string>): string;
    /** QEMU's own plugin of that name, built from this QEMU's source. */
    oracle(name: "execlog" | "insn" | "mem"): string;
}
/** Debian 12's qemu-user, on PATH. */
export declare const QEMU_7_2: QemuUnderTest;
/** Debian 13's QEMU 10.0, built from its source package (two targets). */
export declare const QEMU_10_0: QemuUnderTest;
export declare const QEMUS: readonly QemuUnderTest[];
export declare function oraclePlugin(name: "execlog" | "insn" | "mem", qemu?: QemuUnderTest): string;
/** The controlled environment handed to both QEMU (oracle) and cannoli (which
 * passes it through to its QEMU, hence to the guest). Everything else of the
 * test runner's environment is dropped, as with `env -i`. */
export declare function guestEnv(extra?: Record<string, string>): Record<string, string>;
export declare function guestPath(arch: Arch, name: string): string;
/** Runs `guest args` under qemu-<arch> with the chosen oracle plugins loaded
 * together (one run: the plugins only observe). */
export declare function runOracle(arch: Arch, guest: string, args?: string[], opts?: OracleOptions): Promise<OracleRun>;
/** The chosen oracle plugins as QEMU options (`cannoli run --qemu-arg`
 *  each), logging to `logFile`: QEMU's own plugins loaded into cannoli's own
 *  QEMU process observe exactly the run cannoli traced. QEMU 10 places the
 *  guest's stack and libraries anew on every run, so only the same process
 *  can be compared address for address. */
export declare function oracleQemuArgs(qemu: QemuUnderTest, logFile: string, want: {
    execlog?: boolean;
    insn?: boolean;
    mem?: boolean;
}): string[];
/** What the oracles wrote into `log`, parsed as `runOracle` does. */
export declare function parseOracleLog(log: string, want: {
    execlog?: boolean;
    insn?: boolean;
    mem?: boolean;
}): Pick<OracleRun, "log" | "execlog" | "insn" | "memCounts">;
export declare function runExeclog(arch: Arch, guest: string, args?: string[], opts?: Omit<OracleOptions, "execlog" | "insn" | "mem">): Promise<{
    argv: string[];
    cwd: string;
    env: Record<string, string>;
    exitCode: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    /** The QEMU log (`-d plugin -D file`): everything the plugins printed. */
    log: string;
    insn?: InsnOutput;
    /** `callback mem accesses: N`, one per process, in print order. */
    memCounts?: number[];
    execlog: ParsedExeclog;
}>;
export declare function runInsnCount(arch: Arch, guest: string, args?: string[], opts?: Omit<OracleOptions, "execlog" | "insn" | "mem">): Promise<{
    argv: string[];
    cwd: string;
    env: Record<string, string>;
    exitCode: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    /** The QEMU log (`-d plugin -D file`): everything the plugins printed. */
    log: string;
    execlog?: ParsedExeclog;
    /** `callback mem accesses: N`, one per process, in print order. */
    memCounts?: number[];
    insn: InsnOutput;
}>;
export declare function runMemCount(arch: Arch, guest: string, args?: string[], opts?: Omit<OracleOptions, "execlog" | "insn" | "mem">): Promise<{
    argv: string[];
    cwd: string;
    env: Record<string, string>;
    exitCode: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
    /** The QEMU log (`-d plugin -D file`): everything the plugins printed. */
    log: string;
    execlog?: ParsedExeclog;
    insn?: InsnOutput;
    memCounts: number[];
}>;
/** Environment variables that make qemu-user load one more plugin (the insn
 * oracle) and log its output to `logFile`, as `-plugin/-d/-D` would. Used to
 * run the oracle *inside cannoli's own QEMU* for guests whose counts vary
 * from run to run (threads). The guest sees these variables too. */
export declare function coRunInsnEnv(logFile: string, qemu?: QemuUnderTest): Record<string, string>;
/** Same for any one oracle plugin (qemu-user takes one QEMU_PLUGIN). */
export declare function coRunEnv(plugin: "execlog" | "insn" | "mem", logFile: string, qemu?: QemuUnderTest): Record<string, string>;
export declare function parseExeclog(text: string): ParsedExeclog;
export declare function parseInsnOutput(text: string): InsnOutput;
/** 7.2 prints "callback mem accesses: N", 10.0 "mem accesses: N". */
export declare function parseMemOutput(text: string): number[];
export interface ElfSymbol {
    name: string;
    value: bigint;
    size: bigint;
}
/** Reads .symtab of a little-endian ELF32/ELF64 file. */
export declare function elfSymbols(path: string): Map<string, ElfSymbol>;
