// SPDX-License-Identifier: MIT
/* A parent and a forked child that both sleep argv[1] seconds (default 0):
 * what a consumer killed mid-run must not leave running. Prints
 * "forksleep ok" from the parent once the child is done. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  unsigned seconds = argc > 1 ? (unsigned)atoi(argv[1]) : 0;
  pid_t child = fork();
  if (child == 0) {
    sleep(seconds);
    return 0;
  }
  sleep(seconds);
  waitpid(child, 0, 0);
  printf("forksleep ok\n");
  return 0;
}
