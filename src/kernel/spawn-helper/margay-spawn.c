/*
 * margay-spawn: the agent's process starter (src/kernel/spawn-runner.ts is the other side).
 *
 * A process start from Node is a fork of the whole Node process (≈100 MB RSS, page tables and all)
 * on its main thread. This small, long-lived co-process receives argv + stdin over a pipe and starts
 * the command itself with posix_spawnp (clone(CLONE_VM|CLONE_VFORK) in glibc: no copy at all), so a
 * command costs the agent a pipe write. Many commands run at once; one poll loop serves them all.
 *
 * Wire format (host byte order, every integer u32 unless said):
 *   request  (stdin):  len | id | timeout_ms | argc | stdin_len | argv[0]\0 … argv[argc-1]\0 | stdin bytes
 *   response (stdout): len | id | status | value (i32) | out_len | err_len | stdout bytes | stderr bytes
 *   `len` counts the bytes after itself. status: 0 exited (value = exit code), 1 killed by a signal
 *   (value = signal), 2 could not start (value = errno), 3 timed out (killed), 4 output above the cap
 *   (killed; the output sent is cut to OUT_SNIPPET bytes per stream).
 *
 * Each command runs in its own process group with an empty signal mask and default SIGPIPE/SIGCHLD;
 * its stdin/stdout/stderr are pipes; its environment is this process's (the agent sets it). A timeout
 * kills the whole group (SIGKILL); when the group still holds the pipes open one second later, the
 * answer goes out anyway (never a hang). A malformed request is a bug on the agent's side: this
 * process says why on stderr and exits 2 (the agent fails the commands in flight and starts a new
 * one). stdin at EOF: no new commands; exits once the ones running are answered.
 *
 * It dies with its parent: PR_SET_PDEATHSIG delivers SIGTERM when the thread that started it ends
 * (MARGAY_SPAWN_PARENT=<pid> closes the race of a parent that died before the prctl), and SIGTERM,
 * SIGINT or SIGHUP kill every command's process group and end this process at once (exit 4) —
 * commands in flight are not left running for an agent that is gone.
 *
 * Usage: margay-spawn [max_output_bytes_per_stream]   (default 64 MiB)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_FRAME (256u << 20)
#define MAX_ARGC 4096u
#define MAX_JOBS 256
#define OUT_SNIPPET 65536u
#define GRACE_MS 1000
#define CHUNK 65536
#define SPAWNS_PER_TURN 8

enum { ST_EXIT = 0, ST_SIGNAL = 1, ST_SPAWN = 2, ST_TIMEOUT = 3, ST_TOO_BIG = 4 };

struct buf {
  char *p;
  size_t len, cap;
};

struct job {
  int used, responded, reaped, killed;
  uint32_t id;
  pid_t pid;
  int wstatus;
  int in_fd, out_fd, err_fd;
  char *in;
  size_t in_len, in_off;
  struct buf out, err;
  int64_t deadline; /* ms, CLOCK_MONOTONIC; 0 = none */
  int64_t hard;     /* after a kill: answer by then even if the pipes stay open */
};

static struct job jobs[MAX_JOBS];
static int njobs;
static size_t max_output = 64u << 20;
static struct buf req, resp;
static size_t resp_off;
static int stdin_eof;

static void die(const char *what) {
  fprintf(stderr, "margay-spawn: %s\n", what);
  exit(2);
}

static int64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void buf_reserve(struct buf *b, size_t more) {
  if (b->len + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) die("out of memory");
  b->p = p;
  b->cap = cap;
}

static void buf_put(struct buf *b, const void *p, size_t n) {
  buf_reserve(b, n);
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

static void put_u32(struct buf *b, uint32_t v) { buf_put(b, &v, 4); }

static uint32_t get_u32(const char *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void respond(uint32_t id, uint32_t status, int32_t value, const struct buf *out, const struct buf *err) {
  size_t ol = out ? out->len : 0, el = err ? err->len : 0;
  if (status == ST_TOO_BIG) {
    if (ol > OUT_SNIPPET) ol = OUT_SNIPPET;
    if (el > OUT_SNIPPET) el = OUT_SNIPPET;
  }
  put_u32(&resp, (uint32_t)(20 + ol + el));
  put_u32(&resp, id);
  put_u32(&resp, status);
  put_u32(&resp, (uint32_t)value);
  put_u32(&resp, (uint32_t)ol);
  put_u32(&resp, (uint32_t)el);
  if (ol) buf_put(&resp, out->p, ol);
  if (el) buf_put(&resp, err->p, el);
}

static void kill_job(struct job *j, int why) {
  if (!j->killed) {
    j->killed = why;
    if (!j->reaped) {
      kill(-j->pid, SIGKILL);
      kill(j->pid, SIGKILL);
    }
  }
  j->hard = now_ms() + GRACE_MS;
}

static void free_job(struct job *j) {
  close_fd(&j->in_fd);
  close_fd(&j->out_fd);
  close_fd(&j->err_fd);
  free(j->in);
  free(j->out.p);
  free(j->err.p);
  memset(j, 0, sizeof *j);
  j->in_fd = j->out_fd = j->err_fd = -1;
  njobs--;
}

/* Answers a job once its process is gone and its pipes are at EOF (or the grace after a kill ran out). */
static void maybe_finish(struct job *j, int force) {
  if (!j->used) return;
  if (!j->responded && (force || (j->reaped && j->out_fd < 0 && j->err_fd < 0))) {
    uint32_t st;
    int32_t v;
    if (j->killed) st = (uint32_t)j->killed, v = SIGKILL;
    else if (j->reaped && WIFSIGNALED(j->wstatus)) st = ST_SIGNAL, v = WTERMSIG(j->wstatus);
    else st = ST_EXIT, v = j->reaped ? WEXITSTATUS(j->wstatus) : -1;
    respond(j->id, st, v, &j->out, &j->err);
    j->responded = 1;
    close_fd(&j->in_fd);
    close_fd(&j->out_fd);
    close_fd(&j->err_fd);
    free(j->out.p);
    free(j->err.p);
    j->out = (struct buf){0};
    j->err = (struct buf){0};
  }
  if (j->responded && j->reaped) free_job(j);
}

static struct job *free_slot(void) {
  for (int i = 0; i < MAX_JOBS; i++)
    if (!jobs[i].used) return &jobs[i];
  return NULL;
}

static volatile int child_errno, child_stage;

/* Answers like nsenter(1) when the namespace cannot be entered: exit 1, its message on stderr. */
static void nsenter_failed(uint32_t id, const char *what, const char *path, int e) {
  struct buf err = {0};
  char line[512];
  int n = snprintf(line, sizeof line, "nsenter: %s %s: %s\n", what, path, strerror(e));
  buf_put(&err, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
  respond(id, ST_EXIT, 1, NULL, &err);
  free(err.p);
}

/*
 * vfork + setns(CLONE_NEWNET) + exec. The child shares our memory until it execs, so it reports a
 * failure through child_errno/child_stage. No signal handler is installed in this process (SIGCHLD
 * blocked, SIGPIPE ignored), so nothing can run on the shared stack. Returns 0 (started), an errno
 * (exec failed), or -1 (already answered).
 */
static int spawn_in_netns(pid_t *pid, const char *path, char **argv, int in, int out, int err, uint32_t id) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    nsenter_failed(id, "cannot open", path, errno);
    return -1;
  }
  child_errno = 0;
  child_stage = 0;
  sigset_t none;
  sigemptyset(&none);
  pid_t p = vfork();
  if (p == 0) {
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (setns(fd, CLONE_NEWNET) < 0) { child_errno = errno; child_stage = 1; _exit(127); }
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) { child_errno = errno; child_stage = 2; _exit(127); }
    execvp(argv[0], argv);
    child_errno = errno;
    child_stage = 2;
    _exit(127);
  }
  int e = errno;
  close(fd);
  if (p < 0) return e;
  if (child_stage == 1) {
    nsenter_failed(id, "reassociate to namespace 'ns/net' failed:", path, child_errno);
    return -1;
  }
  if (child_stage == 2) return child_errno ? child_errno : EIO;
  *pid = p;
  return 0;
}

static void start(uint32_t id, uint32_t timeout_ms, char **argv, const char *in, uint32_t in_len) {
  int ip[2], op[2], ep[2];
  if (pipe2(ip, O_CLOEXEC) < 0) { respond(id, ST_SPAWN, errno, NULL, NULL); return; }
  if (pipe2(op, O_CLOEXEC) < 0) { int e = errno; close(ip[0]); close(ip[1]); respond(id, ST_SPAWN, e, NULL, NULL); return; }
  if (pipe2(ep, O_CLOEXEC) < 0) {
    int e = errno;
    close(ip[0]); close(ip[1]); close(op[0]); close(op[1]);
    respond(id, ST_SPAWN, e, NULL, NULL);
    return;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t none, defs;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, ip[0], 0);
  posix_spawn_file_actions_adddup2(&fa, op[1], 1);
  posix_spawn_file_actions_adddup2(&fa, ep[1], 2);
  posix_spawnattr_init(&at);
  sigemptyset(&none);
  sigemptyset(&defs);
  sigaddset(&defs, SIGPIPE);
  sigaddset(&defs, SIGCHLD);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &defs);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid;
  int rc;
  const char *netns = NULL;
  /* `nsenter --net=PATH cmd…` is setns(PATH) + exec cmd: done here, one exec instead of two. */
  if (argv[1] && argv[2] && strcmp(argv[0], "nsenter") == 0 && strncmp(argv[1], "--net=", 6) == 0 &&
      argv[1][6] == '/' && argv[2][0] != '-')
    netns = argv[1] + 6;
  if (netns) rc = spawn_in_netns(&pid, netns, argv + 2, ip[0], op[1], ep[1], id);
  else rc = posix_spawnp(&pid, argv[0], &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc < 0) { /* answered already (as nsenter would have) */
    close(ip[0]); close(op[1]); close(ep[1]); close(ip[1]); close(op[0]); close(ep[0]);
    return;
  }
  close(ip[0]);
  close(op[1]);
  close(ep[1]);
  if (rc != 0) {
    close(ip[1]); close(op[0]); close(ep[0]);
    respond(id, ST_SPAWN, rc, NULL, NULL);
    return;
  }
  struct job *j = free_slot();
  if (!j) die("job table full (the agent must not send more than 256 at once)");
  memset(j, 0, sizeof *j);
  j->used = 1;
  j->id = id;
  j->pid = pid;
  j->in_fd = ip[1];
  j->out_fd = op[0];
  j->err_fd = ep[0];
  fcntl(j->in_fd, F_SETFL, O_NONBLOCK);
  fcntl(j->out_fd, F_SETFL, O_NONBLOCK);
  fcntl(j->err_fd, F_SETFL, O_NONBLOCK);
  if (in_len > 0) {
    j->in = malloc(in_len);
    if (!j->in) die("out of memory");
    memcpy(j->in, in, in_len);
    j->in_len = in_len;
  } else {
    close_fd(&j->in_fd);
  }
  j->deadline = timeout_ms ? now_ms() + timeout_ms : 0;
  njobs++;
}

/*
 * Starts the complete requests in `req`, at most SPAWNS_PER_TURN per loop turn: each start blocks
 * this process until the child has exec'd, and answers and pipes are only served between turns —
 * starting a whole burst at once made the first command's answer wait for the last one's start.
 * Returns 1 when a complete request is left for the next turn.
 */
static int take_requests(void) {
  size_t off = 0;
  int started = 0, more = 0;
  while (njobs < MAX_JOBS && req.len - off >= 4) {
    if (started == SPAWNS_PER_TURN) {
      uint32_t l = get_u32(req.p + off);
      more = l <= MAX_FRAME && req.len - off - 4 >= l;
      break;
    }
    uint32_t len = get_u32(req.p + off);
    if (len < 16 || len > MAX_FRAME) die("request frame length out of range");
    if (req.len - off - 4 < len) break;
    char *p = req.p + off + 4;
    uint32_t id = get_u32(p), timeout = get_u32(p + 4), argc = get_u32(p + 8), in_len = get_u32(p + 12);
    if (argc == 0 || argc > MAX_ARGC) die("argc out of range");
    if (in_len > len - 16) die("stdin length beyond the frame");
    char *s = p + 16, *end = p + len - in_len;
    char *argv[MAX_ARGC + 1];
    for (uint32_t i = 0; i < argc; i++) {
      char *z = memchr(s, 0, (size_t)(end - s));
      if (!z) die("argv string not terminated inside the frame");
      argv[i] = s;
      s = z + 1;
    }
    if (s != end) die("bytes between argv and stdin");
    argv[argc] = NULL;
    start(id, timeout, argv, end, in_len);
    started++;
    off += 4 + (size_t)len;
  }
  memmove(req.p, req.p + off, req.len - off);
  req.len -= off;
  return more;
}

/* Reads what a child wrote; above the cap the group is killed and reading stops. */
static void drain(struct job *j, int *fd, struct buf *b) {
  for (;;) {
    buf_reserve(b, CHUNK);
    ssize_t n = read(*fd, b->p + b->len, CHUNK);
    if (n > 0) {
      b->len += (size_t)n;
      if (b->len > max_output) {
        kill_job(j, ST_TOO_BIG);
        close_fd(fd);
        return;
      }
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) close_fd(fd);
    return;
  }
}

static void feed(struct job *j) {
  while (j->in_off < j->in_len) {
    ssize_t n = write(j->in_fd, j->in + j->in_off, j->in_len - j->in_off);
    if (n > 0) { j->in_off += (size_t)n; continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    break; /* EPIPE: the command stopped reading; its exit status tells */
  }
  close_fd(&j->in_fd);
  free(j->in);
  j->in = NULL;
}

static void kill_all(void) {
  for (int i = 0; i < MAX_JOBS; i++)
    if (jobs[i].used && !jobs[i].reaped) {
      kill(-jobs[i].pid, SIGKILL);
      kill(jobs[i].pid, SIGKILL);
    }
}

static void reap(void) {
  int st;
  pid_t pid;
  while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
    for (int i = 0; i < MAX_JOBS; i++) {
      struct job *j = &jobs[i];
      if (j->used && !j->reaped && j->pid == pid) {
        j->reaped = 1;
        j->wstatus = st;
        maybe_finish(j, 0);
        break;
      }
    }
  }
}

int main(int argc, char **argv) {
  if (argc > 1) {
    char *e;
    unsigned long long v = strtoull(argv[1], &e, 10);
    if (*e || v < 1024 || v > (1ull << 31)) die("max_output must be 1024..2^31 bytes");
    max_output = (size_t)v;
  }
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigaddset(&chld, SIGTERM);
  sigaddset(&chld, SIGINT);
  sigaddset(&chld, SIGHUP);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) die("signalfd failed");
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0) die("prctl(PR_SET_PDEATHSIG) failed");
  const char *parent = getenv("MARGAY_SPAWN_PARENT");
  if (parent && *parent) {
    char *e;
    long want = strtol(parent, &e, 10);
    if (*e || want <= 0) die("MARGAY_SPAWN_PARENT is not a pid");
    if ((long)getppid() != want) return 4; /* the parent died before the prctl */
  }
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
  for (int i = 0; i < MAX_JOBS; i++) jobs[i].in_fd = jobs[i].out_fd = jobs[i].err_fd = -1;

  static struct pollfd pfd[3 + 3 * MAX_JOBS];
  static struct { struct job *j; int which; } who[3 + 3 * MAX_JOBS];
  int more = 0; /* complete requests left over from the last turn */
  for (;;) {
    if (stdin_eof && njobs == 0 && req.len == 0 && resp.len == resp_off) return 0;
    int n = 0;
    int64_t now = now_ms(), wait = -1;
    pfd[n] = (struct pollfd){sfd, POLLIN, 0}, who[n].j = NULL, who[n++].which = 0;
    if (!stdin_eof && njobs < MAX_JOBS) pfd[n] = (struct pollfd){0, POLLIN, 0}, who[n].j = NULL, who[n++].which = 1;
    if (resp.len > resp_off) pfd[n] = (struct pollfd){1, POLLOUT, 0}, who[n].j = NULL, who[n++].which = 2;
    for (int i = 0; i < MAX_JOBS; i++) {
      struct job *j = &jobs[i];
      if (!j->used) continue;
      if (j->in_fd >= 0) pfd[n] = (struct pollfd){j->in_fd, POLLOUT, 0}, who[n].j = j, who[n++].which = 0;
      if (j->out_fd >= 0) pfd[n] = (struct pollfd){j->out_fd, POLLIN, 0}, who[n].j = j, who[n++].which = 1;
      if (j->err_fd >= 0) pfd[n] = (struct pollfd){j->err_fd, POLLIN, 0}, who[n].j = j, who[n++].which = 2;
      if (j->responded) continue;
      int64_t d = j->killed ? j->hard : j->deadline;
      if (d) {
        int64_t w = d > now ? d - now : 0;
        if (wait < 0 || w < wait) wait = w;
      }
    }
    if (more && njobs < MAX_JOBS) wait = 0;
    if (poll(pfd, (nfds_t)n, (int)wait) < 0) {
      if (errno == EINTR) continue;
      die("poll failed");
    }
    for (int k = 0; k < n; k++) {
      if (!pfd[k].revents) continue;
      struct job *j = who[k].j;
      if (!j) {
        if (who[k].which == 0) {
          struct signalfd_siginfo si;
          int stop = 0;
          while (read(sfd, &si, sizeof si) > 0)
            if (si.ssi_signo != SIGCHLD) stop = 1;
          if (stop) {
            kill_all();
            return 4;
          }
          reap();
        } else if (who[k].which == 1) {
          for (;;) {
            buf_reserve(&req, CHUNK);
            ssize_t r = read(0, req.p + req.len, CHUNK);
            if (r > 0) { req.len += (size_t)r; if (req.len > MAX_FRAME + 4u) break; continue; }
            if (r == 0 || (errno != EAGAIN && errno != EINTR)) stdin_eof = 1;
            break;
          }
        } else {
          ssize_t w = write(1, resp.p + resp_off, resp.len - resp_off);
          if (w > 0) resp_off += (size_t)w;
          else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            kill_all(); /* the agent is gone: nobody reads the answers */
            return 3;
          }
          if (resp_off == resp.len) resp.len = resp_off = 0;
        }
        continue;
      }
      if (!j->used) continue;
      if (who[k].which == 0 && j->in_fd >= 0) feed(j);
      else if (who[k].which == 1 && j->out_fd >= 0) drain(j, &j->out_fd, &j->out);
      else if (who[k].which == 2 && j->err_fd >= 0) drain(j, &j->err_fd, &j->err);
      maybe_finish(j, 0);
    }
    more = take_requests();
    if (stdin_eof && req.len > 0 && !more && njobs < MAX_JOBS) die("stdin ended inside a request");
    now = now_ms();
    for (int i = 0; i < MAX_JOBS; i++) {
      struct job *j = &jobs[i];
      if (!j->used || j->responded) continue;
      if (!j->killed && j->deadline && now >= j->deadline) kill_job(j, ST_TIMEOUT);
      else if (j->killed && now >= j->hard) maybe_finish(j, 1);
    }
  }
}
