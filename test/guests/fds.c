// SPDX-License-Identifier: MIT
/* What a guest sees of its file descriptors: prints the fd its first open()
 * gets (3 under plain QEMU, whatever the tracer holds), then closes every fd
 * it may have, 3 .. sysconf(_SC_OPEN_MAX) - 1, as daemons do, and keeps
 * working (the trace must go on). Prints "fds first=3 again=3 <sum>". */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  int first = open("/dev/null", O_RDONLY);
  long open_max = sysconf(_SC_OPEN_MAX);
  for (long fd = 3; fd < open_max; fd++) close((int)fd);
  unsigned sum = 0;
  for (unsigned i = 0; i < 10000; i++) sum = sum * 31 + i;
  int again = open("/dev/null", O_RDONLY);
  printf("fds first=%d again=%d %08x\n", first, again, sum);
  return 0;
}
