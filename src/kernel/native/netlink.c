/*
 * margay_netlink: the agent's rtnetlink socket (src/kernel/netlink.ts). Node cannot open an
 * AF_NETLINK socket; this addon does only that and the blocking exchange, nothing else: the
 * messages are built and checked in TypeScript (netlink-route.ts), sent here as one buffer, and the
 * kernel's answer to each (an ACK or an error, with the extended-ACK text when there is one) comes
 * back. Every wait is bounded (poll with a deadline), so a kernel that does not answer fails the
 * call; it never blocks the event loop for longer than that.
 *
 *   open([nsPath]) -> fd                 NETLINK_ROUTE, CLOEXEC, CAP_ACK + EXT_ACK when supported; in
 *                                        the namespace at nsPath if given (setns around socket())
 *   talk(fd, buf, firstSeq, count, ms)   -> [errno...], [reason...] (0 and "" for an ACK; else
 *                                        strerror, with the extended ACK's text in parentheses)
 *   ifindex(fd, name) -> number          RTM_GETLINK: 0 when the socket's namespace has no such device
 *   close(fd)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <net/if.h>
#include <node_api.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef NETLINK_CAP_ACK
#define NETLINK_CAP_ACK 10
#endif
#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif
#ifndef NLM_F_ACK_TLVS
#define NLM_F_ACK_TLVS 0x200
#endif
#ifndef NLM_F_CAPPED
#define NLM_F_CAPPED 0x100
#endif
#define NLMSGERR_ATTR_MSG 1
#define MAX_COUNT 4096
#define RECV_BUF 65536

static napi_value throw_msg(napi_env env, const char *msg) {
  napi_throw_error(env, "MGY_NETLINK", msg);
  return NULL;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  return throw_msg(env, msg);
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Creates the socket in the network namespace at ns_path (a socket stays in the namespace it was made
 * in): this thread enters it, makes the socket and returns. Returns -errno. */
static int socket_in(const char *ns_path, const char **what) {
  int self = -1, target = -1, fd = -1, err = 0;
  if (ns_path != NULL) {
    self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0) return *what = "open(/proc/thread-self/ns/net)", -errno;
    target = open(ns_path, O_RDONLY | O_CLOEXEC);
    if (target < 0) {
      err = errno;
      close(self);
      return *what = "open(network namespace)", -err;
    }
    if (setns(target, CLONE_NEWNET) != 0) {
      err = errno;
      close(self);
      close(target);
      return *what = "setns(network namespace)", -err;
    }
  }
  fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) err = errno, *what = "socket(AF_NETLINK)";
  if (ns_path != NULL) {
    /* Back to the thread's own namespace. Staying in the other one would send every later socket of
     * this thread there: abort rather than go on (it cannot fail for a namespace we were in). */
    if (setns(self, CLONE_NEWNET) != 0) {
      fprintf(stderr, "margay_netlink: cannot return to the thread's network namespace: %s\n", strerror(errno));
      abort();
    }
    close(self);
    close(target);
  }
  return fd < 0 ? -err : fd;
}

/* open([nsPath]) -> fd: in the calling thread's network namespace, or in the one at nsPath. */
static napi_value nl_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char path[4096];
  const char *ns_path = NULL;
  napi_valuetype t = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &t);
  if (t == napi_string) {
    size_t n = 0;
    if (napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n) != napi_ok || n == 0 || n >= sizeof path - 1)
      return throw_msg(env, "open(nsPath): a path of 1..4094 bytes");
    ns_path = path;
  } else if (t != napi_undefined) {
    return throw_msg(env, "open([nsPath])");
  }
  const char *what = "";
  int fd = socket_in(ns_path, &what);
  if (fd < 0) return throw_errno(env, what, -fd);
  struct sockaddr_nl sa;
  memset(&sa, 0, sizeof sa);
  sa.nl_family = AF_NETLINK;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind(AF_NETLINK)", err);
  }
  /* Room for every answer of an exchange (≤ 128 requests, each answer a small skb) several times
   * over, whatever net.core.rmem_default says; FORCE works as root, the plain one as far as rmem_max. */
  int rcv = 1 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  int one = 1;
  /* Optional: an error then carries only the request's header, plus the kernel's reason as text. */
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

/* The extended ACK's message text, if the error carries one. */
static void ext_ack_msg(const struct nlmsghdr *h, const struct nlmsgerr *e, char *msg, size_t cap) {
  msg[0] = '\0';
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return;
  size_t off = sizeof *e;
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - sizeof e->msg;
  const char *base = (const char *)e;
  size_t len = h->nlmsg_len - NLMSG_HDRLEN;
  off = NLMSG_ALIGN(off);
  while (off + sizeof(struct nlattr) <= len) {
    const struct nlattr *a = (const struct nlattr *)(base + off);
    if (a->nla_len < sizeof *a || off + a->nla_len > len) return;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
      size_t n = a->nla_len - sizeof *a;
      if (n >= cap) n = cap - 1;
      memcpy(msg, (const char *)a + sizeof *a, n);
      msg[n] = '\0';
      size_t l = strnlen(msg, n);
      while (l > 0 && (msg[l - 1] == '\n' || msg[l - 1] == '.')) msg[--l] = '\0';
      return;
    }
    off += NLA_ALIGN(a->nla_len);
  }
}

/* Sends one datagram to the kernel: 0, or an errno (EMSGSIZE for a short write). */
static int send_kernel(int fd, const void *data, size_t len) {
  struct sockaddr_nl kernel;
  memset(&kernel, 0, sizeof kernel);
  kernel.nl_family = AF_NETLINK;
  ssize_t sent;
  do sent = sendto(fd, data, len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) return errno;
  return (size_t)sent == len ? 0 : EMSGSIZE;
}

/* Receives one datagram by `deadline`: its length, -ETIMEDOUT when none came in time, or -errno of
 * poll/recv (ENOBUFS: answers were dropped because the receive queue was full; waiting for them
 * would only time out). `what` names the failing call. */
static ssize_t recv_by(int fd, char *buf, size_t cap, int64_t deadline, const char **what) {
  for (;;) {
    int64_t wait = deadline - now_ms();
    if (wait <= 0) return -ETIMEDOUT;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int pr = poll(&p, 1, (int)wait);
    if (pr < 0 && errno == EINTR) continue;
    if (pr < 0) return *what = "netlink poll", -errno;
    if (pr == 0) continue;
    ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return *what = "netlink recv", -errno;
    return n;
  }
}

/* talk(fd, buf, firstSeq, count, timeoutMs): sends buf (count requests, each with NLM_F_ACK and
 * sequence numbers firstSeq .. firstSeq+count-1) and waits for every answer. */
static napi_value nl_talk(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, first, count, timeout;
  void *data;
  size_t len;
  if (argc < 5 || !get_int(env, argv[0], &fd) || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok ||
      !get_int(env, argv[2], &first) || !get_int(env, argv[3], &count) || !get_int(env, argv[4], &timeout) ||
      fd < 0 || count <= 0 || count > MAX_COUNT || timeout <= 0 || len == 0)
    return throw_msg(env, "talk(fd, buffer, firstSeq, count 1..4096, timeoutMs)");
  int errs[MAX_COUNT];
  char *msgs[MAX_COUNT];
  uint8_t answered[MAX_COUNT];
  memset(answered, 0, (size_t)count);
  memset(msgs, 0, sizeof(char *) * (size_t)count);
  int err = send_kernel(fd, data, len);
  if (err != 0) return throw_errno(env, "netlink send", err);
  char buf[RECV_BUF] __attribute__((aligned(8)));
  char text[512];
  int left = count;
  int64_t deadline = now_ms() + timeout;
  napi_value result = NULL;
  while (left > 0) {
    const char *what = "";
    ssize_t n = recv_by(fd, buf, sizeof buf, deadline, &what);
    if (n == -ETIMEDOUT) {
      result = throw_msg(env, "netlink: the kernel did not answer every request in time");
      goto out;
    }
    if (n < 0) {
      result = throw_errno(env, what, (int)-n);
      goto out;
    }
    int len = (int)n;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      int64_t i = (int64_t)h->nlmsg_seq - first;
      if (i < 0 || i >= count || answered[i]) continue;
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) continue;
      const struct nlmsgerr *e = (const struct nlmsgerr *)NLMSG_DATA(h);
      answered[i] = 1;
      left--;
      errs[i] = -e->error;
      if (e->error != 0) {
        char full[640];
        ext_ack_msg(h, e, text, sizeof text);
        if (text[0] != '\0') snprintf(full, sizeof full, "%s (%s)", strerror(-e->error), text);
        else snprintf(full, sizeof full, "%s", strerror(-e->error));
        msgs[i] = strdup(full);
      }
    }
  }
  napi_value codes, texts;
  napi_create_array_with_length(env, (size_t)count, &codes);
  napi_create_array_with_length(env, (size_t)count, &texts);
  for (int i = 0; i < count; i++) {
    napi_value c, t;
    napi_create_int32(env, errs[i], &c);
    napi_create_string_utf8(env, msgs[i] ? msgs[i] : "", NAPI_AUTO_LENGTH, &t);
    napi_set_element(env, codes, (uint32_t)i, c);
    napi_set_element(env, texts, (uint32_t)i, t);
  }
  napi_create_array_with_length(env, 2, &result);
  napi_set_element(env, result, 0, codes);
  napi_set_element(env, result, 1, texts);
out:
  for (int i = 0; i < count; i++) free(msgs[i]);
  return result;
}

/* ifindex(fd, name) -> number: the device's index in the socket's namespace (RTM_GETLINK by name), 0
 * when there is none. Bounded like talk(). */
static napi_value nl_ifindex(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  char name[IF_NAMESIZE + 1];
  size_t n = 0;
  if (argc < 2 || !get_int(env, argv[0], &fd) || fd < 0 ||
      napi_get_value_string_utf8(env, argv[1], name, sizeof name, &n) != napi_ok || n == 0 || n >= IF_NAMESIZE)
    return throw_msg(env, "ifindex(fd, name): a name of 1..15 bytes");
  struct {
    struct nlmsghdr h;
    struct ifinfomsg i;
    char attrs[64];
  } req;
  memset(&req, 0, sizeof req);
  static uint32_t seq = 0x7fff0000;
  if (++seq >= 0x7fffff00) seq = 0x7fff0000;
  struct rtattr *a = (struct rtattr *)req.attrs;
  a->rta_type = IFLA_IFNAME;
  a->rta_len = RTA_LENGTH(n + 1);
  memcpy(RTA_DATA(a), name, n + 1);
  req.h.nlmsg_len = NLMSG_LENGTH(sizeof req.i) + RTA_ALIGN(a->rta_len);
  req.h.nlmsg_type = RTM_GETLINK;
  req.h.nlmsg_flags = NLM_F_REQUEST;
  req.h.nlmsg_seq = seq;
  req.i.ifi_family = AF_UNSPEC;
  int err = send_kernel(fd, &req, req.h.nlmsg_len);
  if (err != 0) return throw_errno(env, "netlink send (RTM_GETLINK)", err);
  char buf[RECV_BUF] __attribute__((aligned(8)));
  int64_t deadline = now_ms() + 2000;
  for (;;) {
    const char *what = "";
    ssize_t r = recv_by(fd, buf, sizeof buf, deadline, &what);
    if (r == -ETIMEDOUT) return throw_msg(env, "netlink: the kernel did not answer RTM_GETLINK in time");
    if (r < 0) return throw_errno(env, what, (int)-r);
    int len = (int)r;
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, len); h = NLMSG_NEXT(h, len)) {
      if (h->nlmsg_seq != seq) continue;
      napi_value out;
      if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
        const struct nlmsgerr *e = (const struct nlmsgerr *)NLMSG_DATA(h);
        if (e->error == -ENODEV) {
          napi_create_uint32(env, 0, &out);
          return out;
        }
        return throw_errno(env, "RTM_GETLINK", -e->error);
      }
      if (h->nlmsg_type == RTM_NEWLINK && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct ifinfomsg))) {
        const struct ifinfomsg *i = (const struct ifinfomsg *)NLMSG_DATA(h);
        napi_create_uint32(env, (uint32_t)i->ifi_index, &out);
        return out;
      }
    }
  }
}

static napi_value nl_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc < 1 || !get_int(env, argv[0], &fd) || fd < 0) return throw_msg(env, "close(fd)");
  close(fd);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, nl_open, NULL, NULL, NULL, napi_default, NULL},
      {"talk", NULL, nl_talk, NULL, NULL, NULL, napi_default, NULL},
      {"ifindex", NULL, nl_ifindex, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, nl_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
