// A slow disk for the fault runs, preloaded into a node process (LD_PRELOAD): while the control
// file named by DQLITE_TS_SLOW_IO holds a positive number N (decimal text), every fsync and
// fdatasync, and every write to a file opened with O_DSYNC or O_SYNC (the Raft log's segments),
// first sleeps N milliseconds. The file is re-read at most every 20 ms, so the fault switches on
// and off while the node runs. Built by test/faults/disks.ts with the machine's C compiler.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static long delay_ms;
static long checked_at_ms = -1000;

static long now_ms(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static long current_delay_ms(void) {
  long now = now_ms();
  if (now - checked_at_ms >= 20) {
    checked_at_ms = now;
    const char *path = getenv("DQLITE_TS_SLOW_IO");
    long value = 0;
    if (path != NULL) {
      FILE *control = fopen(path, "r");
      if (control != NULL) {
        if (fscanf(control, "%ld", &value) != 1) value = 0;
        fclose(control);
      }
    }
    __atomic_store_n(&delay_ms, value, __ATOMIC_RELAXED);
  }
  return __atomic_load_n(&delay_ms, __ATOMIC_RELAXED);
}

static void pause_if_slow(void) {
  long ms = current_delay_ms();
  if (ms > 0) {
    struct timespec pause = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&pause, NULL);
  }
}

static void pause_if_synchronous(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags != -1 && (flags & (O_DSYNC | O_SYNC)) != 0) pause_if_slow();
}

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

int fsync(int fd) {
  pause_if_slow();
  return REAL(fsync)(fd);
}

int fdatasync(int fd) {
  pause_if_slow();
  return REAL(fdatasync)(fd);
}

ssize_t write(int fd, const void *buffer, size_t count) {
  pause_if_synchronous(fd);
  return REAL(write)(fd, buffer, count);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
  pause_if_synchronous(fd);
  return REAL(pwrite)(fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off64_t offset) {
  pause_if_synchronous(fd);
  return REAL(pwrite64)(fd, buffer, count, offset);
}

ssize_t pwritev(int fd, const struct iovec *buffers, int count, off_t offset) {
  pause_if_synchronous(fd);
  return REAL(pwritev)(fd, buffers, count, offset);
}

ssize_t pwritev64(int fd, const struct iovec *buffers, int count, off64_t offset) {
  pause_if_synchronous(fd);
  return REAL(pwritev64)(fd, buffers, count, offset);
}
