/*
 * margay: the CNI plugin binary the container runtime execs (installed as /opt/cni/bin/margay).
 *
 * A small forwarder, so a call costs a few milliseconds instead of a Node start (~100 ms): it reads
 * stdin and the CNI_* environment, does the cheap checks that must work without the agent
 * (command, required variables, container id and interface name rules, sizes), answers VERSION
 * itself, finds the agent's socket, and forwards everything else to margay-node, whose TypeScript
 * code (cni/protocol.ts, agent/cni/) holds every other rule. The agent's answer is the plugin's
 * stdout and exit code, byte for byte.
 *
 * Wire format (cni/wire.ts is the other side): HTTP/1.1 over a unix socket,
 *   POST /cni/v1/exec, body = each CNI_* variable as "KEY=VALUE\0", then "\0", then stdin as is.
 *   Answer: 200, header "x-cni-exit: <n>", body = stdout to print.
 *
 * Socket: netconf "agentSocket" when given, else /run/margay/cni-<inode of /proc/self/ns/net>.sock,
 * i.e. the agent serving the network namespace this plugin runs in (docs/cni.md, "Finding the agent").
 *
 * Hostile input: stdin and the answer are bounded (1 MiB), every variable is bounded, every socket
 * operation has a deadline (MARGAY_CNI_TIMEOUT_MS, default 120 s), nothing is ever parsed beyond two
 * top-level string fields of the netconf. When the agent cannot be reached or does not answer, the
 * plugin prints a spec error itself: 11 "try again later" (STATUS: 50 "plugin not available").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_STDIN (1u << 20)
#define MAX_ANSWER ((1u << 20) + 4096u)
#define MAX_VAR 65536u
#define LATEST "1.1.0"

static const char *const SUPPORTED[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
static const char *const FORWARDED_VARS[] = {"CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"};
enum { E_VERSION = 1, E_ENV = 4, E_IO = 5, E_DECODE = 6, E_CONFIG = 7, E_AGAIN = 11, E_UNAVAILABLE = 50 };

static char *stdin_buf;
static size_t stdin_len;
static char cni_version[32];
static char agent_socket[sizeof(((struct sockaddr_un *)0)->sun_path)];

/* ---------- output ---------- */

static void json_escape(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
}

static const char *answer_version(void) {
  for (size_t i = 0; i < sizeof SUPPORTED / sizeof *SUPPORTED; i++)
    if (strcmp(cni_version, SUPPORTED[i]) == 0) return cni_version;
  return LATEST;
}

__attribute__((noreturn, format(printf, 3, 4))) static void fail(int code, const char *msg, const char *fmt, ...) {
  char details[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(details, sizeof details, fmt, ap);
  va_end(ap);
  printf("{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":\"", answer_version(), code);
  json_escape(stdout, msg);
  printf("\",\"details\":\"");
  json_escape(stdout, details);
  printf("\"}\n");
  fflush(stdout);
  fprintf(stderr, "margay: %s: %s\n", msg, details);
  exit(1);
}

/* ---------- stdin and the two netconf fields read here ---------- */

static void read_stdin(void) {
  stdin_buf = malloc(MAX_STDIN + 1);
  if (!stdin_buf) fail(E_IO, "out of memory", "reading stdin");
  for (;;) {
    ssize_t n = read(0, stdin_buf + stdin_len, MAX_STDIN + 1 - stdin_len);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EBADF) break; /* no stdin at all: treated as empty */
      fail(E_IO, "cannot read stdin", "%s", strerror(errno));
    }
    stdin_len += (size_t)n;
    if (stdin_len > MAX_STDIN) fail(E_DECODE, "failed to decode network configuration", "stdin is larger than %u bytes", MAX_STDIN);
  }
  stdin_buf[stdin_len] = 0;
}

/* A bounded JSON skipper: returns the position after the value at p, or NULL if malformed. */
static const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

static const char *skip_string(const char *p, const char *end) {
  if (p >= end || *p != '"') return NULL;
  for (p++; p < end; p++) {
    if (*p == '\\') {
      if (++p >= end) return NULL;
    } else if (*p == '"') {
      return p + 1;
    }
  }
  return NULL;
}

static const char *skip_value(const char *p, const char *end, int depth) {
  if (depth > 64) return NULL;
  p = skip_ws(p, end);
  if (p >= end) return NULL;
  if (*p == '"') return skip_string(p, end);
  if (*p == '{' || *p == '[') {
    char close = *p == '{' ? '}' : ']';
    p = skip_ws(p + 1, end);
    if (p < end && *p == close) return p + 1;
    for (;;) {
      if (close == '}') {
        p = skip_string(skip_ws(p, end), end);
        if (!p) return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        p++;
      }
      p = skip_value(p, end, depth + 1);
      if (!p) return NULL;
      p = skip_ws(p, end);
      if (p >= end) return NULL;
      if (*p == close) return p + 1;
      if (*p != ',') return NULL;
      p++;
    }
  }
  while (p < end && strchr(",}] \t\r\n", *p) == NULL) p++; /* number, true, false, null */
  return p;
}

/* Copies a top-level string field without escapes into out; leaves out empty otherwise. */
static void top_level_string(const char *key, char *out, size_t outsz) {
  const char *p = stdin_buf, *end = stdin_buf + stdin_len;
  size_t klen = strlen(key);
  out[0] = 0;
  p = skip_ws(p, end);
  if (p >= end || *p != '{') return;
  p = skip_ws(p + 1, end);
  if (p < end && *p == '}') return;
  for (;;) {
    const char *ks = skip_ws(p, end), *ke = skip_string(ks, end);
    if (!ke) return;
    p = skip_ws(ke, end);
    if (p >= end || *p != ':') return;
    const char *vs = skip_ws(p + 1, end), *ve = skip_value(vs, end, 0);
    if (!ve) return;
    if ((size_t)(ke - ks) == klen + 2 && memcmp(ks + 1, key, klen) == 0 && *vs == '"') {
      size_t n = (size_t)(ve - vs) - 2;
      if (n < outsz && memchr(vs + 1, '\\', n) == NULL) {
        memcpy(out, vs + 1, n);
        out[n] = 0;
      }
      return; /* a duplicate key later is the agent's to refuse */
    }
    p = skip_ws(ve, end);
    if (p >= end || *p != ',') return;
    p++;
  }
}

/* ---------- the checks that must hold without the agent (cni/protocol.ts has the same rules) ---------- */

static const char *env(const char *k) {
  const char *v = getenv(k);
  if (v && strlen(v) > MAX_VAR) fail(E_ENV, "invalid environment", "%s is longer than %u bytes", k, MAX_VAR);
  return v && *v ? v : NULL;
}

static void check_environment(const char *cmd) {
  for (size_t i = 0; i < sizeof FORWARDED_VARS / sizeof *FORWARDED_VARS; i++) (void)env(FORWARDED_VARS[i]);
  static const char *const cmds[] = {"ADD", "DEL", "CHECK", "VERSION", "STATUS", "GC"};
  int known = 0;
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) known |= strcmp(cmd, cmds[i]) == 0;
  if (!known) fail(E_ENV, "invalid environment", "unknown CNI_COMMAND \"%.64s\"; expected one of ADD, DEL, CHECK, VERSION, STATUS, GC", cmd);
  int add_or_check = strcmp(cmd, "ADD") == 0 || strcmp(cmd, "CHECK") == 0;
  if ((add_or_check || strcmp(cmd, "DEL") == 0) && !env("CNI_CONTAINERID")) fail(E_ENV, "invalid environment", "CNI_CONTAINERID is required for %s", cmd);
  if (add_or_check && !env("CNI_NETNS")) fail(E_ENV, "invalid environment", "CNI_NETNS is required for %s", cmd);
  if ((add_or_check || strcmp(cmd, "DEL") == 0) && !env("CNI_IFNAME")) fail(E_ENV, "invalid environment", "CNI_IFNAME is required for %s", cmd);
  const char *id = env("CNI_CONTAINERID");
  if (id) {
    int ok = ((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= 'A' && id[0] <= 'Z') || (id[0] >= '0' && id[0] <= '9'));
    for (const char *c = id; ok && *c; c++) ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *c) != NULL;
    if (!ok) fail(E_ENV, "invalid environment", "CNI_CONTAINERID \"%.64s\" must be alphanumeric with _ . -", id);
  }
  const char *ifn = env("CNI_IFNAME");
  if (ifn) {
    int ok = strlen(ifn) <= 15 && strcmp(ifn, ".") != 0 && strcmp(ifn, "..") != 0;
    for (const char *c = ifn; ok && *c; c++) ok = !(*c == '/' || *c == ':' || *c == ' ' || (*c >= '\t' && *c <= '\r'));
    if (!ok) fail(E_ENV, "invalid environment", "CNI_IFNAME \"%.64s\" is not a valid interface name", ifn);
  }
}

/* ---------- talking to the agent ---------- */

static long deadline_ms;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Waits for fd to be ready for ev; 0 on success, -1 (errno ETIMEDOUT) past the deadline. */
static int wait_fd(int fd, short ev) {
  for (;;) {
    long left = deadline_ms - now_ms();
    if (left <= 0) {
      errno = ETIMEDOUT;
      return -1;
    }
    struct pollfd p = {.fd = fd, .events = ev};
    int r = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
    if (r > 0) return 0;
    if (r < 0 && errno != EINTR) return -1;
  }
}

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    if (wait_fd(fd, POLLOUT) < 0) return -1;
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static void find_socket(const char *cmd) {
  char given[sizeof agent_socket + 1];
  top_level_string("agentSocket", given, sizeof given);
  if (given[0]) {
    if (given[0] != '/' || strlen(given) >= sizeof agent_socket) {
      fail(E_CONFIG, "invalid network configuration", "agentSocket must be an absolute path shorter than %zu bytes", sizeof agent_socket);
    }
    strcpy(agent_socket, given);
    return;
  }
  struct stat st;
  if (stat("/proc/self/ns/net", &st) != 0) {
    fail(strcmp(cmd, "STATUS") == 0 ? E_UNAVAILABLE : E_IO, "cannot find margay-node", "stat /proc/self/ns/net: %s", strerror(errno));
  }
  snprintf(agent_socket, sizeof agent_socket, "/run/margay/cni-%llu.sock", (unsigned long long)st.st_ino);
}

__attribute__((noreturn)) static void unreachable(const char *cmd, const char *what) {
  int code = strcmp(cmd, "STATUS") == 0 ? E_UNAVAILABLE : E_AGAIN;
  fail(code, "margay-node is not answering", "%s: %s: %s (is margay-node running on this node?)", agent_socket, what, strerror(errno));
}

static size_t build_body(char **out) {
  size_t cap = stdin_len + 64, len = 0;
  for (size_t i = 0; i < sizeof FORWARDED_VARS / sizeof *FORWARDED_VARS; i++) {
    const char *v = getenv(FORWARDED_VARS[i]);
    if (v) cap += strlen(FORWARDED_VARS[i]) + strlen(v) + 2;
  }
  char *b = malloc(cap);
  if (!b) fail(E_IO, "out of memory", "building the request");
  for (size_t i = 0; i < sizeof FORWARDED_VARS / sizeof *FORWARDED_VARS; i++) {
    const char *v = getenv(FORWARDED_VARS[i]);
    if (!v) continue;
    len += (size_t)sprintf(b + len, "%s=%s", FORWARDED_VARS[i], v) + 1; /* keeps the NUL */
  }
  b[len++] = 0;
  memcpy(b + len, stdin_buf, stdin_len);
  *out = b;
  return len + stdin_len;
}

static int forward(const char *cmd) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) unreachable(cmd, "socket");
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, agent_socket);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) unreachable(cmd, "connect");

  char *body;
  size_t blen = build_body(&body);
  char head[256];
  int hlen = snprintf(head, sizeof head,
                      "POST /cni/v1/exec HTTP/1.1\r\nHost: margay\r\nContent-Type: application/x-margay-cni\r\n"
                      "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                      blen);
  if (write_all(fd, head, (size_t)hlen) < 0 || write_all(fd, body, blen) < 0) unreachable(cmd, "sending the request");

  char *ans = malloc(MAX_ANSWER + 1);
  size_t alen = 0;
  if (!ans) fail(E_IO, "out of memory", "reading the answer");
  for (;;) {
    if (wait_fd(fd, POLLIN) < 0) unreachable(cmd, "waiting for the answer");
    ssize_t n = recv(fd, ans + alen, MAX_ANSWER + 1 - alen, MSG_DONTWAIT);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      unreachable(cmd, "reading the answer");
    }
    alen += (size_t)n;
    if (alen > MAX_ANSWER) fail(E_IO, "margay-node answered with something unexpected", "answer larger than %u bytes", MAX_ANSWER);
  }
  close(fd);
  ans[alen] = 0;

  int status = 0;
  char *sep = memmem(ans, alen, "\r\n\r\n", 4);
  if (sscanf(ans, "HTTP/1.%*d %d", &status) != 1 || !sep) {
    errno = EPROTO;
    if (alen == 0) unreachable(cmd, "closed without an answer");
    fail(E_IO, "margay-node answered with something unexpected", "not an HTTP answer: %.120s", ans);
  }
  *sep = 0;
  char *body_start = sep + 4;
  size_t body_len = alen - (size_t)(body_start - ans);
  int exit_code = -1;
  for (char *h = strstr(ans, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
    if (strncasecmp(h + 2, "x-cni-exit:", 11) == 0) exit_code = atoi(h + 13);
  }
  if (status != 200 || exit_code < 0 || exit_code > 255) {
    fail(E_IO, "margay-node answered with something unexpected", "HTTP %d, x-cni-exit %d: %.200s", status, exit_code, body_start);
  }
  if (body_len > 0 && fwrite(body_start, 1, body_len, stdout) != body_len) return 1;
  fflush(stdout);
  return exit_code;
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  read_stdin();
  top_level_string("cniVersion", cni_version, sizeof cni_version);
  const char *cmd = env("CNI_COMMAND");
  if (!cmd) fail(E_ENV, "invalid environment", "CNI_COMMAND is not set");
  check_environment(cmd);
  if (strcmp(cmd, "VERSION") == 0) {
    printf("{\"cniVersion\":\"%s\",\"supportedVersions\":[", answer_version());
    for (size_t i = 0; i < sizeof SUPPORTED / sizeof *SUPPORTED; i++) printf("%s\"%s\"", i ? "," : "", SUPPORTED[i]);
    printf("]}\n");
    return 0;
  }
  const char *t = getenv("MARGAY_CNI_TIMEOUT_MS");
  long timeout = t ? atol(t) : 120000;
  deadline_ms = now_ms() + (timeout > 0 && timeout < 3600000 ? timeout : 120000);
  find_socket(cmd);
  return forward(cmd);
}
