// SPDX-License-Identifier: MIT
/* What a guest sees of its file descriptors: prints the fd its first open()
 * gets (3 under plain QEMU, whatever the tracer holds), then closes every fd
 * from 3 to 255, as daemons and shells do, and keeps working (the trace must
 * go on). Prints "fds first=3 after=ok <sum>". */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int first = open("/dev/null", O_RDONLY);
  for (int fd = 3; fd < 256; fd++) close(fd);
  unsigned sum = 0;
  for (unsigned i = 0; i < 10000; i++) sum = sum * 31 + i;
  int again = open("/dev/null", O_RDONLY);
  printf("fds first=%d again=%d %08x\n", first, again, sum);
  return 0;
}
