/** A fresh directory named `cannoli-<name>-XXXXXX`, removed after the file's last test. */
export declare function scratchDir(name: string): string;
