// SPDX-License-Identifier: MIT
// Known values in known registers at a known instruction (the global label
// regs_marker): the --regs tests check the recorded state there against
// the values this program prints.
#include <stdio.h>

int main(void) {
#if defined(__aarch64__)
  register unsigned long a __asm__("x19") = 0x1122334455667788UL;
  register unsigned long b __asm__("x20") = 0x99aabbccddeeff00UL;
  __asm__ volatile(".globl regs_marker\nregs_marker: nop" : "+r"(a), "+r"(b));
  printf("regs ok x19=%lx x20=%lx\n", a, b);
#elif defined(__mips__)
  register unsigned long a __asm__("$16") = 0x11223344UL;
  register unsigned long b __asm__("$17") = 0x8899aabbUL;
  __asm__ volatile(".globl regs_marker\nregs_marker: nop" : "+r"(a), "+r"(b));
  printf("regs ok r16=%lx r17=%lx\n", a, b);
#endif
  return 0;
}
