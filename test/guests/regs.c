// SPDX-License-Identifier: MIT
// Known values in known registers at a known instruction (the global label
// regs_marker), then stored to a known place (`stored`): the --regs and
// Tenet tests check the recorded state there against what this program
// prints.
#include <stdio.h>

volatile unsigned long stored[2];
/* x86_64: the same two words stored at once, by one 16-byte SSE store. */
volatile unsigned long wide[2] __attribute__((aligned(16)));

int main(void) {
#if defined(__aarch64__)
  register unsigned long a __asm__("x19") = 0x1122334455667788UL;
  register unsigned long b __asm__("x20") = 0x99aabbccddeeff00UL;
  __asm__ volatile(".globl regs_marker\nregs_marker: nop" : "+r"(a), "+r"(b));
  printf("regs ok x19=%lx x20=%lx\n", a, b);
#elif defined(__x86_64__)
  register unsigned long a __asm__("r12") = 0x1122334455667788UL;
  register unsigned long b __asm__("r13") = 0x99aabbccddeeff00UL;
  __asm__ volatile(".globl regs_marker\nregs_marker: nop" : "+r"(a), "+r"(b));
  printf("regs ok r12=%lx r13=%lx\n", a, b);
  __asm__ volatile("movq %0, %%xmm0\n movq %1, %%xmm1\n punpcklqdq %%xmm1, %%xmm0\n movdqu %%xmm0, (%2)"
                   :
                   : "r"(a), "r"(b), "r"(wide)
                   : "xmm0", "xmm1", "memory");
#elif defined(__mips__)
  register unsigned long a __asm__("$16") = 0x11223344UL;
  register unsigned long b __asm__("$17") = 0x8899aabbUL;
  __asm__ volatile(".globl regs_marker\nregs_marker: nop" : "+r"(a), "+r"(b));
  printf("regs ok r16=%lx r17=%lx\n", a, b);
#endif
  stored[0] = a;
  stored[1] = b;
  return 0;
}
