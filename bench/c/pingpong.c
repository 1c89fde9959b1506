/*
 * Baseline of the transport benchmark: a 16-byte ping-pong between two processes over a
 * socketpair, blocking send/recv, the child (fork) echoing every message back.
 *
 * usage: pingpong <warmup> <count> [<parent cpu> <child cpu>]
 * (with cpus given, each process pins itself to its cpu; -1 leaves it free)
 * stdout (one key per line, parsed by bench/transport/cBaseline.ts):
 *   rtt_ns <count samples, space-separated>
 *   parent_cpu_us <user> <system>   (measured round trips only)
 *   child_cpu_us <user> <system>    (measured round trips only)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MSG = 16 };

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Reads exactly MSG bytes; 0 on EOF before the first byte, 1 on success. */
static int recv_msg(int fd, unsigned char *buf) {
  size_t got = 0;
  while (got < MSG) {
    ssize_t n = recv(fd, buf + got, MSG - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("recv");
    if (n == 0) {
      if (got == 0) return 0;
      fprintf(stderr, "EOF inside a message\n");
      exit(1);
    }
    got += (size_t)n;
  }
  return 1;
}

static void send_msg(int fd, const unsigned char *buf) {
  size_t sent = 0;
  while (sent < MSG) {
    ssize_t n = send(fd, buf + sent, MSG - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("send");
    sent += (size_t)n;
  }
}

static void pin(long cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET((int)cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) die("sched_setaffinity");
}

static long long tv_us(struct timeval tv) { return (long long)tv.tv_sec * 1000000LL + tv.tv_usec; }

/* CPU time of this process since `from`, in microseconds. */
static void cpu_since(const struct rusage *from, long long *user, long long *sys) {
  struct rusage now;
  if (getrusage(RUSAGE_SELF, &now) != 0) die("getrusage");
  *user = tv_us(now.ru_utime) - tv_us(from->ru_utime);
  *sys = tv_us(now.ru_stime) - tv_us(from->ru_stime);
}

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Echoes until EOF; its CPU time counts from the end of the warm-up. */
static void child(int fd, long warmup) {
  unsigned char buf[MSG];
  struct rusage mark;
  long seen = 0;
  if (getrusage(RUSAGE_SELF, &mark) != 0) die("getrusage");
  while (recv_msg(fd, buf)) {
    send_msg(fd, buf);
    if (++seen == warmup && getrusage(RUSAGE_SELF, &mark) != 0) die("getrusage");
  }
  long long user, sys;
  cpu_since(&mark, &user, &sys);
  printf("child_cpu_us %lld %lld\n", user, sys);
  fflush(stdout);
  _exit(0);
}

static void parent(int fd, long warmup, long count, pid_t pid) {
  unsigned char ping[MSG], pong[MSG];
  memset(ping, 0, MSG);
  ping[4] = MSG; /* a well-formed vfio-user header: msg_size 16 */
  long long *rtt = malloc((size_t)count * sizeof *rtt);
  if (!rtt) die("malloc");
  for (long i = 0; i < warmup; i++) {
    send_msg(fd, ping);
    if (!recv_msg(fd, pong)) die("early EOF");
  }
  struct rusage mark;
  if (getrusage(RUSAGE_SELF, &mark) != 0) die("getrusage");
  for (long i = 0; i < count; i++) {
    long long t0 = now_ns();
    send_msg(fd, ping);
    if (!recv_msg(fd, pong)) die("early EOF");
    rtt[i] = now_ns() - t0;
  }
  long long user, sys;
  cpu_since(&mark, &user, &sys);
  close(fd); /* the child sees EOF, reports and exits */
  int status;
  if (waitpid(pid, &status, 0) < 0) die("waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "echo child failed\n");
    exit(1);
  }
  fputs("rtt_ns", stdout);
  for (long i = 0; i < count; i++) printf(" %lld", rtt[i]);
  printf("\nparent_cpu_us %lld %lld\n", user, sys);
  free(rtt);
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 5) {
    fprintf(stderr, "usage: %s <warmup> <count> [<parent cpu> <child cpu>]\n", argv[0]);
    return 2;
  }
  long warmup = strtol(argv[1], NULL, 10);
  long count = strtol(argv[2], NULL, 10);
  if (warmup < 0 || count <= 0) {
    fprintf(stderr, "bad warmup or count\n");
    return 2;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) die("socketpair");
  fflush(stdout); /* nothing buffered may be written twice after fork */
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    if (argc == 5) pin(strtol(argv[4], NULL, 10));
    close(sv[0]);
    child(sv[1], warmup);
  }
  if (argc == 5) pin(strtol(argv[3], NULL, 10));
  close(sv[1]);
  parent(sv[0], warmup, count, pid);
  return 0;
}
