/*
 * margay-labnet: the lab's workload agent, one process per lab node (and one for the outside) that
 * serves any number of network namespaces — the node's own and each of its pods'.
 *
 * For every namespace registered on its control socket it opens, inside that namespace (setns before
 * socket(); a socket stays in the namespace it was made in), a TCP listener and a UDP socket on PORT
 * (IPv6 wildcard, v4-mapped: both families) that answer each request with the source address they
 * saw ("10.244.1.2\n"), so a probe proves reachability and "no NAT" at once. On request it probes
 * targets from inside a registered namespace with real sockets made there.
 *
 * Control protocol (unix stream socket; one request per connection; the answer ends the connection):
 *   add LABEL NSPATH                 -> "ok" | "error MSG"        (re-adding a label replaces it)
 *   del LABEL                        -> "ok"
 *   probe LABEL TIMEOUT_MS COUNT     then COUNT lines "tcp|udp IP PORT"
 *                                    -> COUNT lines "tcp|udp IP PORT ok SEEN MS" or
 *                                       "tcp|udp IP PORT fail ERROR MS", then "end" (or "error MSG")
 *   http LABEL PORT PATH TIMEOUT_MS  -> "status N" (N = 0: failed, then the reason)
 *
 *   margay-labnet --control SOCKET [--port 7000]
 * Single-threaded, epoll; in-flight probes are capped (the rest queue); every input is bounded.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_NS 4096
#define MAX_REQUEST (1 << 20)
#define MAX_TARGETS 20000
#define MAX_INFLIGHT 1024
#define LABEL_MAX 64

enum kind { K_CONTROL_LISTEN, K_CONTROL, K_NS_TCP, K_NS_UDP, K_PROBE };
enum ptype { P_TCP, P_UDP, P_HTTP };

struct obj { enum kind kind; };

struct ns {
  struct obj tcp_o, udp_o; /* epoll handles (kind first) */
  char label[LABEL_MAX];
  int nsfd, tcp, udp;
  int used;
};

struct ctl;
struct probe {
  struct obj o;
  struct ctl *c;
  int idx;           /* result slot */
  enum ptype type;
  int fd;
  int started, done, connected;
  struct sockaddr_storage addr;
  socklen_t alen;
  double start, deadline, next_send, resend, timeout;
  char buf[256];
  int len;
  char path[256];
  char line[160];   /* "tcp IP PORT" as asked */
};

struct ctl {
  struct obj o;
  int fd;
  char *in;
  size_t inlen;
  char *out;
  size_t outlen, outoff;
  int replying, dead;
  int nsfd;          /* source namespace of a probe request */
  struct probe *probes;
  int nprobes, nstarted, ndone;
  char **results;
  int http;          /* the request was http: answer "status N" */
  struct ctl *next;  /* all live control connections */
};

static int ep, port = 7000, origns, curns = -1, inflight;
static const char *control_path;
static struct ns nss[MAX_NS];
static struct ctl *ctls;
static struct obj listen_o = {K_CONTROL_LISTEN};
static volatile sig_atomic_t stop;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000.0 + t.tv_nsec / 1e6;
}

static const char *errname(int e) {
  switch (e) {
  case ECONNREFUSED: return "ECONNREFUSED";
  case EHOSTUNREACH: return "EHOSTUNREACH";
  case ENETUNREACH: return "ENETUNREACH";
  case ETIMEDOUT: return "ETIMEDOUT";
  case ECONNRESET: return "ECONNRESET";
  case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
  case EACCES: return "EACCES";
  case EPERM: return "EPERM";
  case EINVAL: return "EINVAL";
  case EMFILE: return "EMFILE";
  case ENFILE: return "ENFILE";
  case ENOBUFS: return "ENOBUFS";
  case EAFNOSUPPORT: return "EAFNOSUPPORT";
  default: {
    static char b[16];
    snprintf(b, sizeof b, "E%d", e);
    return b;
  }
  }
}

static int enter(int nsfd) {
  if (curns == nsfd) return 0;
  if (setns(nsfd, CLONE_NEWNET) < 0) return -1;
  curns = nsfd;
  return 0;
}

static void ep_add(int fd, uint32_t events, void *ptr) {
  struct epoll_event e = {.events = events, .data.ptr = ptr};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0) fprintf(stderr, "labnet: epoll add: %s\n", strerror(errno));
}

static void ep_mod(int fd, uint32_t events, void *ptr) {
  struct epoll_event e = {.events = events, .data.ptr = ptr};
  epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

/* The plain text of an address: v4-mapped IPv6 as IPv4. */
static void addr_text(const struct sockaddr_storage *a, char *out, size_t n) {
  if (a->ss_family == AF_INET) {
    inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, out, n);
  } else {
    const struct in6_addr *x = &((const struct sockaddr_in6 *)a)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(x)) inet_ntop(AF_INET, &x->s6_addr[12], out, n);
    else inet_ntop(AF_INET6, x, out, n);
  }
}

/* ---- responders ---------------------------------------------------------------------------- */

static int listen_in(int nsfd, int type) {
  if (enter(nsfd) < 0) return -1;
  int fam = AF_INET6;
  int s = socket(AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s < 0 && errno == EAFNOSUPPORT) {
    fam = AF_INET;
    s = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  if (s < 0) return -1;
  int one = 1, zero = 0;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_storage a;
  memset(&a, 0, sizeof a);
  socklen_t al;
  if (fam == AF_INET6) {
    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    a6->sin6_addr = in6addr_any;
    al = sizeof *a6;
  } else {
    struct sockaddr_in *a4 = (struct sockaddr_in *)&a;
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
    al = sizeof *a4;
  }
  if (bind(s, (struct sockaddr *)&a, al) < 0 || (type == SOCK_STREAM && listen(s, 1024) < 0)) {
    int e = errno;
    close(s);
    errno = e;
    return -1;
  }
  return s;
}

static void tcp_accept(struct ns *n) {
  for (;;) {
    struct sockaddr_storage a;
    socklen_t al = sizeof a;
    int c = accept4(n->tcp, (struct sockaddr *)&a, &al, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return; /* EAGAIN, or a connection reset before accept */
    char t[INET6_ADDRSTRLEN + 2];
    addr_text(&a, t, sizeof t - 1);
    strcat(t, "\n");
    if (write(c, t, strlen(t)) < 0) { /* the peer is gone: nothing to answer */ }
    close(c);
  }
}

static void udp_answer(struct ns *n) {
  for (;;) {
    char b[512];
    struct sockaddr_storage a;
    socklen_t al = sizeof a;
    ssize_t r = recvfrom(n->udp, b, sizeof b, 0, (struct sockaddr *)&a, &al);
    if (r < 0) return;
    char t[INET6_ADDRSTRLEN + 2];
    addr_text(&a, t, sizeof t - 1);
    strcat(t, "\n");
    sendto(n->udp, t, strlen(t), 0, (struct sockaddr *)&a, al);
  }
}

static struct ns *find_ns(const char *label) {
  for (int i = 0; i < MAX_NS; i++)
    if (nss[i].used && strcmp(nss[i].label, label) == 0) return &nss[i];
  return NULL;
}

/* Closes a namespace fd; leaves it first if it is the one sockets are being made in. */
static void close_nsfd(int fd) {
  if (fd < 0) return;
  if (curns == fd) {
    if (setns(origns, CLONE_NEWNET) < 0) fprintf(stderr, "labnet: setns back: %s\n", strerror(errno));
    curns = origns;
  }
  close(fd);
}

static void ns_del(struct ns *n) {
  epoll_ctl(ep, EPOLL_CTL_DEL, n->tcp, NULL);
  epoll_ctl(ep, EPOLL_CTL_DEL, n->udp, NULL);
  close(n->tcp);
  close(n->udp);
  close_nsfd(n->nsfd);
  n->used = 0;
}

/* Registers LABEL's namespace and opens its responders; NULL (and the reason in err) on failure. */
static const char *ns_add(const char *label, const char *path, char *err, size_t errn) {
  struct ns *old = find_ns(label);
  if (old) ns_del(old);
  struct ns *n = NULL;
  for (int i = 0; i < MAX_NS && !n; i++)
    if (!nss[i].used) n = &nss[i];
  if (!n) return "too many namespaces";
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errn, "open %s: %s", path, strerror(errno));
    return err;
  }
  int t = listen_in(fd, SOCK_STREAM);
  int u = t < 0 ? -1 : listen_in(fd, SOCK_DGRAM);
  if (t < 0 || u < 0) {
    snprintf(err, errn, "listening on port %d in %s: %s", port, path, strerror(errno));
    if (t >= 0) close(t);
    close(fd);
    return err;
  }
  memset(n, 0, sizeof *n);
  n->used = 1;
  snprintf(n->label, sizeof n->label, "%s", label);
  n->nsfd = fd;
  n->tcp = t;
  n->udp = u;
  n->tcp_o.kind = K_NS_TCP;
  n->udp_o.kind = K_NS_UDP;
  ep_add(t, EPOLLIN, &n->tcp_o);
  ep_add(u, EPOLLIN, &n->udp_o);
  return NULL;
}

/* ---- control replies ------------------------------------------------------------------------ */

static void out_append(struct ctl *c, const char *s) {
  size_t l = strlen(s);
  c->out = realloc(c->out, c->outlen + l + 1);
  if (!c->out) { perror("labnet: realloc"); exit(1); }
  memcpy(c->out + c->outlen, s, l + 1);
  c->outlen += l;
}

static void probe_finish(struct probe *p, int ok, const char *what);

/* Ends a connection: probes still queued or in flight for it are dropped (nobody waits for them). */
static void ctl_close(struct ctl *c) {
  if (c->dead) return;
  c->dead = 1;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  for (int i = 0; i < c->nstarted; i++) probe_finish(&c->probes[i], 0, "dropped");
  for (int i = c->nstarted; i < c->nprobes; i++) c->probes[i].done = 1;
  c->nstarted = c->nprobes;
  close_nsfd(c->nsfd);
  c->nsfd = -1;
}

static void ctl_flush(struct ctl *c) {
  if (c->dead) return;
  while (c->outoff < c->outlen) {
    ssize_t w = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
    if (w < 0) {
      if (errno == EAGAIN) {
        ep_mod(c->fd, EPOLLOUT, &c->o);
        return;
      }
      ctl_close(c);
      return;
    }
    c->outoff += (size_t)w;
  }
  ctl_close(c);
}

static void reply(struct ctl *c, const char *fmt, ...) {
  char b[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(b, sizeof b, fmt, ap);
  va_end(ap);
  out_append(c, b);
  out_append(c, "\n");
  c->replying = 1;
  ctl_flush(c);
}

/* ---- probes --------------------------------------------------------------------------------- */

static void probe_finish(struct probe *p, int ok, const char *what) {
  if (p->done) return;
  p->done = 1;
  if (p->fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
    close(p->fd);
    p->fd = -1;
  }
  inflight--;
  struct ctl *c = p->c;
  char b[512];
  long ms = (long)(now_ms() - p->start + 0.5);
  if (p->type == P_HTTP) {
    int status = 0;
    if (ok && sscanf(p->buf, "HTTP/%*d.%*d %d", &status) != 1) status = 0;
    if (ok) snprintf(b, sizeof b, "status %d\n", status);
    else snprintf(b, sizeof b, "status 0 %s\n", what);
  } else {
    char seen[260];
    snprintf(seen, sizeof seen, "%s", ok ? p->buf : what);
    seen[strcspn(seen, "\r\n \t")] = 0;
    if (seen[0] == 0) {
      ok = 0;
      snprintf(seen, sizeof seen, "%s", "empty-reply");
    }
    snprintf(b, sizeof b, "%s %s %s %ld\n", p->line, ok ? "ok" : "fail", seen, ms);
  }
  c->results[p->idx] = strdup(b);
  c->ndone++;
}

static void start_probes(struct ctl *c);

static void ctl_maybe_done(struct ctl *c) {
  if (c->dead) return;
  start_probes(c);
  if (c->ndone < c->nprobes || c->replying) return;
  for (int i = 0; i < c->nprobes; i++) {
    out_append(c, c->results[i]);
    free(c->results[i]);
    c->results[i] = NULL;
  }
  if (!c->http) out_append(c, "end\n");
  c->replying = 1;
  ctl_flush(c);
}

static void probe_start(struct probe *p) {
  p->started = 1;
  inflight++;
  p->start = now_ms();
  p->deadline = p->start + p->timeout;
  p->resend = p->timeout / 5 < 100 ? 100 : p->timeout / 5;
  if (enter(p->c->nsfd) < 0) {
    probe_finish(p, 0, errname(errno));
    return;
  }
  int fam = p->addr.ss_family;
  p->fd = socket(fam, (p->type == P_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->fd < 0) {
    probe_finish(p, 0, errname(errno));
    return;
  }
  if (connect(p->fd, (struct sockaddr *)&p->addr, p->alen) < 0 && errno != EINPROGRESS) {
    probe_finish(p, 0, errname(errno));
    return;
  }
  if (p->type == P_UDP) {
    p->connected = 1;
    if (send(p->fd, "probe\n", 6, 0) < 0 && errno != EAGAIN) { /* retried by the resend timer */ }
    p->next_send = p->start + p->resend;
    ep_add(p->fd, EPOLLIN, &p->o);
  } else {
    ep_add(p->fd, EPOLLOUT | EPOLLIN, &p->o);
  }
}

static void start_probes(struct ctl *c) {
  while (c->nstarted < c->nprobes && inflight < MAX_INFLIGHT) {
    struct probe *p = &c->probes[c->nstarted++];
    probe_start(p);
  }
}

static void probe_event(struct probe *p, uint32_t ev) {
  if (p->done) return;
  if (p->type == P_UDP) {
    ssize_t r = recv(p->fd, p->buf, sizeof p->buf - 1, 0);
    if (r >= 0) {
      p->buf[r] = 0;
      probe_finish(p, 1, "");
    } else if (errno != EAGAIN && errno != ECONNREFUSED) {
      /* ICMP errors on a connected UDP socket: keep resending until the deadline, as an unconnected
         socket would (neighbour resolution may still be under way); remember the last one. */
      snprintf(p->path, sizeof p->path, "%s", errname(errno));
    } else if (errno == ECONNREFUSED) {
      snprintf(p->path, sizeof p->path, "%s", "ECONNREFUSED");
    }
    return;
  }
  if (!p->connected && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int e = 0;
    socklen_t el = sizeof e;
    getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &e, &el);
    if (e) {
      probe_finish(p, 0, errname(e));
      return;
    }
    p->connected = 1;
    ep_mod(p->fd, EPOLLIN, &p->o);
    if (p->type == P_HTTP) {
      char req[400];
      int l = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", p->path);
      if (write(p->fd, req, (size_t)l) != l) {
        probe_finish(p, 0, errname(errno));
        return;
      }
    }
  }
  if (p->connected && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
    for (;;) {
      if (p->len >= (int)sizeof p->buf - 1) {
        /* enough: a TCP answer is one address line, an HTTP status line fits */
        p->buf[p->len] = 0;
        if (p->type == P_HTTP) probe_finish(p, 1, "");
        else probe_finish(p, 0, "oversized-reply");
        return;
      }
      ssize_t r = read(p->fd, p->buf + p->len, sizeof p->buf - 1 - (size_t)p->len);
      if (r > 0) {
        p->len += (int)r;
        continue;
      }
      if (r == 0) {
        p->buf[p->len] = 0;
        probe_finish(p, 1, "");
        return;
      }
      if (errno == EAGAIN) return;
      probe_finish(p, 0, errname(errno));
      return;
    }
  }
}

static void probe_timers(void) {
  double t = now_ms();
  for (struct ctl *c = ctls; c; c = c->next) {
    if (c->dead) continue;
    int changed = 0;
    for (int i = 0; i < c->nstarted; i++) {
      struct probe *p = &c->probes[i];
      if (p->done) continue;
      if (t >= p->deadline) {
        /* The answer may be waiting behind the 256 events one epoll_wait returns (a big fan-out on
           a loaded machine): look at the socket itself before calling it a timeout. */
        struct pollfd pf = {.fd = p->fd, .events = POLLIN | POLLOUT};
        if (p->fd >= 0 && poll(&pf, 1, 0) == 1) probe_event(p, (uint32_t)pf.revents);
        if (!p->done) probe_finish(p, 0, p->type == P_UDP && p->path[0] ? p->path : "timeout");
        changed = 1;
      } else if (p->type == P_UDP && t >= p->next_send) {
        send(p->fd, "probe\n", 6, 0);
        p->next_send = t + p->resend;
      }
    }
    if (changed || c->nstarted < c->nprobes) ctl_maybe_done(c);
  }
}

/* ---- requests ------------------------------------------------------------------------------- */

static int parse_target(struct probe *p, const char *proto, const char *ip, const char *portstr) {
  if (strcmp(proto, "tcp") == 0) p->type = P_TCP;
  else if (strcmp(proto, "udp") == 0) p->type = P_UDP;
  else return -1;
  char *end;
  long pt = strtol(portstr, &end, 10);
  if (*end || pt < 1 || pt > 65535) return -1;
  memset(&p->addr, 0, sizeof p->addr);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&p->addr;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&p->addr;
  if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)pt);
    p->alen = sizeof *a4;
  } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)pt);
    p->alen = sizeof *a6;
  } else {
    return -1;
  }
  snprintf(p->line, sizeof p->line, "%s %s %ld", proto, ip, pt);
  return 0;
}

static long parse_timeout(const char *s) {
  char *end;
  long t = strtol(s, &end, 10);
  return (*end || t < 50 || t > 30000) ? 1500 : t;
}

/* Handles a complete request in c->in; returns 0 when more input is needed. */
static int handle(struct ctl *c) {
  char *nl = memchr(c->in, '\n', c->inlen);
  if (!nl) return 0;
  char head[1024];
  size_t hl = (size_t)(nl - c->in);
  if (hl >= sizeof head) {
    reply(c, "error request line too long");
    return 1;
  }
  memcpy(head, c->in, hl);
  head[hl] = 0;
  char *argv[8];
  int argc = 0;
  for (char *tok = strtok(head, " \t\r"); tok && argc < 8; tok = strtok(NULL, " \t\r")) argv[argc++] = tok;
  if (argc == 0) {
    reply(c, "error empty request");
    return 1;
  }
  char err[400];
  if (strcmp(argv[0], "add") == 0 && argc == 3) {
    if (strlen(argv[1]) >= LABEL_MAX) reply(c, "error label too long");
    else {
      const char *e = ns_add(argv[1], argv[2], err, sizeof err);
      if (e) reply(c, "error %s", e);
      else reply(c, "ok");
    }
    return 1;
  }
  if (strcmp(argv[0], "del") == 0 && argc == 2) {
    struct ns *n = find_ns(argv[1]);
    if (n) ns_del(n);
    reply(c, "ok");
    return 1;
  }
  if (strcmp(argv[0], "http") == 0 && argc == 5) {
    struct ns *n = find_ns(argv[1]);
    if (!n) {
      reply(c, "error no namespace %s", argv[1]);
      return 1;
    }
    if (argv[3][0] != '/' || strlen(argv[3]) > 200 || strpbrk(argv[3], "\r\n ")) {
      reply(c, "error bad path");
      return 1;
    }
    c->nsfd = fcntl(n->nsfd, F_DUPFD_CLOEXEC, 0);
    c->http = 1;
    c->nprobes = 1;
    c->probes = calloc(1, sizeof *c->probes);
    c->results = calloc(1, sizeof *c->results);
    struct probe *p = &c->probes[0];
    p->o.kind = K_PROBE;
    p->c = c;
    p->fd = -1;
    if (parse_target(p, "tcp", "127.0.0.1", argv[2]) < 0) {
      reply(c, "error bad port");
      return 1;
    }
    p->type = P_HTTP;
    snprintf(p->path, sizeof p->path, "%s", argv[3]);
    p->timeout = (double)parse_timeout(argv[4]);
    start_probes(c);
    ctl_maybe_done(c);
    return 1;
  }
  if (strcmp(argv[0], "probe") == 0 && argc == 4) {
    char *end;
    long count = strtol(argv[3], &end, 10);
    if (*end || count < 0 || count > MAX_TARGETS) {
      reply(c, "error COUNT must be 0..%d", MAX_TARGETS);
      return 1;
    }
    /* Wait for all COUNT target lines. */
    size_t lines = 0;
    for (size_t i = hl + 1; i < c->inlen; i++)
      if (c->in[i] == '\n') lines++;
    if ((long)lines < count) return 0;
    struct ns *n = find_ns(argv[1]);
    if (!n) {
      reply(c, "error no namespace %s", argv[1]);
      return 1;
    }
    long timeout = parse_timeout(argv[2]);
    c->nsfd = fcntl(n->nsfd, F_DUPFD_CLOEXEC, 0);
    c->nprobes = (int)count;
    c->probes = calloc((size_t)count + 1, sizeof *c->probes);
    c->results = calloc((size_t)count + 1, sizeof *c->results);
    char *line = nl + 1;
    for (long i = 0; i < count; i++) {
      char *e = memchr(line, '\n', (size_t)(c->in + c->inlen - line));
      *e = 0;
      struct probe *p = &c->probes[i];
      p->o.kind = K_PROBE;
      p->c = c;
      p->idx = (int)i;
      p->fd = -1;
      char *a[4];
      int k = 0;
      for (char *tok = strtok(line, " \t\r"); tok && k < 4; tok = strtok(NULL, " \t\r")) a[k++] = tok;
      if (k != 3 || parse_target(p, a[0], a[1], a[2]) < 0) {
        reply(c, "error target %ld: want \"tcp|udp IP PORT\"", i + 1);
        c->nprobes = 0;
        return 1;
      }
      p->timeout = (double)timeout;
      line = e + 1;
    }
    start_probes(c);
    ctl_maybe_done(c);
    return 1;
  }
  reply(c, "error unknown request (add LABEL NSPATH | del LABEL | probe LABEL TIMEOUT COUNT | http LABEL PORT PATH TIMEOUT)");
  return 1;
}

static void ctl_read(struct ctl *c) {
  for (;;) {
    char b[65536];
    ssize_t r = read(c->fd, b, sizeof b);
    if (r > 0) {
      if (c->inlen + (size_t)r > MAX_REQUEST) {
        reply(c, "error request too large");
        return;
      }
      c->in = realloc(c->in, c->inlen + (size_t)r + 1);
      if (!c->in) { perror("labnet: realloc"); exit(1); }
      memcpy(c->in + c->inlen, b, (size_t)r);
      c->inlen += (size_t)r;
      continue;
    }
    if (r < 0 && errno == EAGAIN) break;
    /* EOF or error: the asker is gone (or sent an incomplete request) */
    if (c->nprobes == 0 && !c->replying && r == 0 && c->inlen > 0) reply(c, "error incomplete request");
    else ctl_close(c);
    return;
  }
  if (c->nprobes == 0 && !c->replying && handle(c) && !c->dead) ep_mod(c->fd, c->replying ? EPOLLOUT : EPOLLRDHUP, &c->o);
}

static void ctl_accept(int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    struct ctl *c = calloc(1, sizeof *c);
    c->o.kind = K_CONTROL;
    c->fd = fd;
    c->nsfd = -1;
    c->next = ctls;
    ctls = c;
    ep_add(fd, EPOLLIN, &c->o);
  }
}

/* Frees connections that have answered (or died) and have no probe left in flight. */
static void ctl_reap(void) {
  struct ctl **pp = &ctls;
  while (*pp) {
    struct ctl *c = *pp;
    int busy = 0;
    for (int i = 0; i < c->nstarted; i++)
      if (!c->probes[i].done) busy = 1;
    if (c->dead && !busy) {
      *pp = c->next;
      for (int i = 0; i < c->nprobes; i++) free(c->results[i]);
      free(c->results);
      free(c->probes);
      free(c->in);
      free(c->out);
      free(c);
    } else {
      pp = &c->next;
    }
  }
}

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--control") == 0 && i + 1 < argc) control_path = argv[++i];
    else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) port = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: margay-labnet --control SOCKET [--port N]\n");
      return 2;
    }
  }
  if (!control_path || port < 1 || port > 65535 || strlen(control_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
    fprintf(stderr, "usage: margay-labnet --control SOCKET [--port N] (socket path under 108 bytes)\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_term};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  origns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (origns < 0) {
    perror("labnet: /proc/self/ns/net");
    return 1;
  }
  curns = origns;
  ep = epoll_create1(EPOLL_CLOEXEC);
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct sockaddr_un ua = {.sun_family = AF_UNIX};
  strcpy(ua.sun_path, control_path);
  unlink(control_path);
  if (lfd < 0 || bind(lfd, (struct sockaddr *)&ua, sizeof ua) < 0 || listen(lfd, 512) < 0) {
    fprintf(stderr, "labnet: control socket %s: %s\n", control_path, strerror(errno));
    return 1;
  }
  ep_add(lfd, EPOLLIN, &listen_o);
  while (!stop) {
    struct epoll_event evs[256];
    int n = epoll_wait(ep, evs, 256, inflight > 0 ? 10 : 1000);
    if (n < 0 && errno != EINTR) {
      perror("labnet: epoll_wait");
      break;
    }
    for (int i = 0; i < n; i++) {
      struct obj *o = evs[i].data.ptr;
      switch (o->kind) {
      case K_CONTROL_LISTEN: ctl_accept(lfd); break;
      case K_NS_TCP: tcp_accept((struct ns *)((char *)o - offsetof(struct ns, tcp_o))); break;
      case K_NS_UDP: udp_answer((struct ns *)((char *)o - offsetof(struct ns, udp_o))); break;
      case K_CONTROL: {
        struct ctl *c = (struct ctl *)o;
        if (c->dead) break;
        if (c->replying) ctl_flush(c);
        else ctl_read(c);
        break;
      }
      case K_PROBE: {
        struct probe *p = (struct probe *)o;
        probe_event(p, evs[i].events);
        if (p->done) ctl_maybe_done(p->c);
        break;
      }
      }
    }
    probe_timers();
    ctl_reap();
  }
  unlink(control_path);
  return 0;
}
