export interface Machine {
    cpuModel: string;
    cores: number;
    memoryGiB: number;
    os: string;
    kernel: string;
    bun: string;
    qemu: string;
    hypervisor: string | null;
}
export declare function describeMachine(): Machine;
export declare function machineLine(m: Machine): string;
