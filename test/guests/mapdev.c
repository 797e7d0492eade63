// SPDX-License-Identifier: MIT
/* Maps 1 GiB of /dev/zero and a FIFO-free device view, touches a page, and
 * exits: what a tracer that places modules from mmap events must not read
 * whole. Prints "mapdev ok <byte>". */
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
  int fd = open("/dev/zero", O_RDONLY);
  unsigned char *p = mmap(0, 1u << 30, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return 1;
  printf("mapdev ok %d\n", p[4096]);
  return 0;
}
