// SPDX-License-Identifier: MIT
/* Benchmark guest: the nop loop of the original Cannoli. Each iteration runs
 * 64 unrolled nops plus the loop's own few instructions, so nearly every
 * executed instruction is a nop: the worst case for PC tracing (nothing but
 * instructions, no memory accesses, long blocks).
 * Usage: bench_nops [iterations]   (default 1000; bench/ sizes it to ~1 s). */
#include <stdio.h>
#include <stdlib.h>

#define NOP4 "nop\n\tnop\n\tnop\n\tnop\n\t"
#define NOP16 NOP4 NOP4 NOP4 NOP4
#define NOP64 NOP16 NOP16 NOP16 NOP16

int main(int argc, char **argv) {
  long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
  long i;
  for (i = 0; i < iterations; i++) __asm__ volatile(NOP64);
  printf("bench_nops ok %ld\n", i);
  return 0;
}
