// SPDX-License-Identifier: MIT
/* Benchmark guest: memory-heavy loop with mixed 1/2/4/8-byte loads and
 * stores over a 64 KiB buffer (stays in cache: the cost measured is the
 * tracing of each access, not DRAM). Prints a checksum so the work cannot be
 * optimized away and every architecture must agree on it.
 * Usage: bench_mem [iterations]   (default 1000; bench/ sizes it to ~1 s). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BYTES 65536
static uint8_t buf[BYTES] __attribute__((aligned(8)));

int main(int argc, char **argv) {
  long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 1000;
  volatile uint8_t *b = buf;
  volatile uint16_t *h = (volatile uint16_t *)buf;
  volatile uint32_t *w = (volatile uint32_t *)buf;
  volatile uint64_t *d = (volatile uint64_t *)buf;
  uint32_t x = 0x12345678, sum = 0;
  for (long i = 0; i < iterations; i++) {
    x = x * 1103515245u + 12345u;
    uint32_t at = x >> 16;                      /* 0..65535 */
    b[at] = (uint8_t)(b[at] + x);               /* 1-byte load + store */
    h[at >> 1] = (uint16_t)(h[at >> 1] ^ i);    /* 2-byte load + store */
    w[at >> 2] += (uint32_t)i;                  /* 4-byte load + store */
    d[at >> 3] = d[(at >> 3) ^ 1] + x;          /* 8-byte load + store */
    sum += b[at ^ 1] + h[(at >> 1) ^ 3] + w[(at >> 2) ^ 5] + (uint32_t)d[(at >> 3) ^ 7];
  }
  printf("bench_mem ok %ld %08x\n", iterations, (unsigned)sum);
  return 0;
}
