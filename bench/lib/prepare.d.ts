export declare const repo: string;
export declare const cache: string;
export declare const cannoli: string;
export declare const oracles: string;
export declare const busyboxPath: (debianArch: string) => string;
export declare const guestPath: (arch: string, name: string) => string;
export declare function prepare(log: (line: string) => void): void;
/** The directory of the patched QEMU for the current patch series (built,
 *  or reused from the cache, by scripts/qemu-build.sh). */
export declare function patchedQemuDir(log: (line: string) => void): string;
