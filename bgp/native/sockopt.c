/*
 * margay_sockopt: the socket options Node's net module cannot set, for BGP transport security.
 *   setMd5(fd, address, key, prefixLen)  RFC 2385 TCP_MD5SIG (TCP_MD5SIG_EXT when prefixLen >= 0);
 *                                        an empty key removes the entry.
 *   setTtl(fd, ttl)                      IP_TTL / IPV6_UNICAST_HOPS (GTSM sends with 255).
 *   setMinTtl(fd, minTtl)                IP_MINTTL / IPV6_MINHOPCOUNT (RFC 5082 receive check).
 *   createSocket(family, localAddress, localPort)
 *                                        a non-blocking, close-on-exec TCP socket (bound when an
 *                                        address is given) so options can be set before connect().
 *   closeFd(fd)                          for cleanup when wrapping the fd fails.
 *   execve(file, argv[], env[])          replaces the process image (margay-bgpd re-executes itself
 *                                        with V8/glibc memory settings; only returns by throwing).
 *   setMallocTrimThreshold(bytes)        glibc mallopt(M_TRIM_THRESHOLD): how much free memory at the
 *                                        top of a malloc heap is kept instead of handed back to the
 *                                        kernel. Returns false where there is no glibc mallopt.
 *   releaseFilePages(start, length)      madvise(MADV_DONTNEED) on a clean, read-only file mapping: its
 *                                        pages leave this process's resident set (they stay in the
 *                                        page cache; the next touch maps them again from there).
 * Errors throw a JS Error whose code is "MGY_SOCKOPT" and whose message names the call and errno.
 * Plain node_api.h (N-API 8), no C++ and no dependencies.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IP_MINTTL
#define IP_MINTTL 21
#endif
#ifndef IPV6_MINHOPCOUNT
#define IPV6_MINHOPCOUNT 73
#endif
#ifndef TCP_MD5SIG_EXT
#define TCP_MD5SIG_EXT 32
#endif
#ifndef TCP_MD5SIG_FLAG_PREFIX
#define TCP_MD5SIG_FLAG_PREFIX 0x1
#endif

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s (errno %d)", what, strerror(err), err);
  napi_throw_error(env, "MGY_SOCKOPT", msg);
  return NULL;
}

static napi_value throw_msg(napi_env env, const char *msg) {
  napi_throw_error(env, "MGY_SOCKOPT", msg);
  return NULL;
}

static int get_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

static int get_str(napi_env env, napi_value v, char *buf, size_t cap, size_t *len) {
  return napi_get_value_string_utf8(env, v, buf, cap, len) == napi_ok;
}

static int socket_family(int fd) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  memset(&ss, 0, sizeof ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) return -1;
  return ss.ss_family;
}

/* Parses `text` into `ss` for a socket of family `fam` (IPv4 becomes v4-mapped on an IPv6 socket). */
static int parse_addr(const char *text, int fam, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, text, &a4) == 1) {
    if (fam == AF_INET6) {
      struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
      s6->sin6_family = AF_INET6;
      s6->sin6_addr.s6_addr[10] = 0xff;
      s6->sin6_addr.s6_addr[11] = 0xff;
      memcpy(&s6->sin6_addr.s6_addr[12], &a4, 4);
      return AF_INET;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    s4->sin_family = AF_INET;
    s4->sin_addr = a4;
    return AF_INET;
  }
  if (inet_pton(AF_INET6, text, &a6) == 1) {
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_addr = a6;
    return AF_INET6;
  }
  return -1;
}

/* setMd5(fd, address, key, prefixLen) */
static napi_value set_md5(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return throw_msg(env, "setMd5(fd, address, key, prefixLen) needs 4 arguments");
  int32_t fd, prefix;
  char addr[INET6_ADDRSTRLEN + 1];
  char key[TCP_MD5SIG_MAXKEYLEN + 2];
  size_t alen, klen;
  if (!get_int(env, argv[0], &fd) || !get_str(env, argv[1], addr, sizeof addr, &alen) ||
      !get_str(env, argv[2], key, sizeof key, &klen) || !get_int(env, argv[3], &prefix))
    return throw_msg(env, "setMd5: bad argument types");
  if (klen > TCP_MD5SIG_MAXKEYLEN) return throw_msg(env, "setMd5: key longer than 80 bytes");
  int fam = socket_family(fd);
  if (fam < 0) return throw_errno(env, "setMd5: getsockname", errno);
  struct tcp_md5sig sig;
  memset(&sig, 0, sizeof sig);
  if (parse_addr(addr, fam, &sig.tcpm_addr) < 0) return throw_msg(env, "setMd5: not an IP address");
  sig.tcpm_keylen = (uint16_t)klen;
  memcpy(sig.tcpm_key, key, klen);
  int opt = TCP_MD5SIG;
  if (prefix >= 0) {
    int isMappedV4 = fam == AF_INET6 && ((struct sockaddr *)&sig.tcpm_addr)->sa_family == AF_INET6 &&
                     inet_pton(AF_INET, addr, &(struct in_addr){0}) == 1;
    opt = TCP_MD5SIG_EXT;
    sig.tcpm_flags = TCP_MD5SIG_FLAG_PREFIX;
    sig.tcpm_prefixlen = (uint8_t)(isMappedV4 ? prefix + 96 : prefix);
  }
  if (setsockopt(fd, IPPROTO_TCP, opt, &sig, sizeof sig) != 0) {
    /* Removing a key that is not there is not an error. */
    if (!(klen == 0 && errno == ENOENT)) return throw_errno(env, "setsockopt(TCP_MD5SIG)", errno);
  }
  return NULL;
}

static napi_value set_level_opt(napi_env env, napi_callback_info info, int opt4, int opt6, const char *name) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, v;
  if (argc < 2 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &v)) return throw_msg(env, "expected (fd, value)");
  int fam = socket_family(fd);
  if (fam < 0) return throw_errno(env, "getsockname", errno);
  int val = v;
  if (fam == AF_INET6) {
    if (setsockopt(fd, IPPROTO_IPV6, opt6, &val, sizeof val) != 0) return throw_errno(env, name, errno);
  }
  /* On an IPv6 socket the IPv4 option covers v4-mapped peers; on an IPv4 socket it is the only one. */
  if (setsockopt(fd, IPPROTO_IP, opt4, &val, sizeof val) != 0 && fam == AF_INET) return throw_errno(env, name, errno);
  return NULL;
}

static napi_value set_ttl(napi_env env, napi_callback_info info) {
  return set_level_opt(env, info, IP_TTL, IPV6_UNICAST_HOPS, "setsockopt(IP_TTL)");
}

static napi_value set_min_ttl(napi_env env, napi_callback_info info) {
  return set_level_opt(env, info, IP_MINTTL, IPV6_MINHOPCOUNT, "setsockopt(IP_MINTTL)");
}

/* setRcvBuf(fd, bytes): SO_RCVBUF, which also turns off the kernel's receive-buffer autotuning. */
static napi_value set_rcvbuf(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd, v;
  if (argc < 2 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &v)) return throw_msg(env, "expected (fd, bytes)");
  int val = v;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &val, sizeof val) != 0) return throw_errno(env, "setsockopt(SO_RCVBUF)", errno);
  return NULL;
}

/* createSocket(family 4|6, localAddress|"" , localPort) -> fd */
static napi_value create_socket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t family, port;
  char addr[INET6_ADDRSTRLEN + 1];
  size_t alen;
  if (argc < 3 || !get_int(env, argv[0], &family) || !get_str(env, argv[1], addr, sizeof addr, &alen) ||
      !get_int(env, argv[2], &port))
    return throw_msg(env, "createSocket(family, localAddress, localPort): bad arguments");
  int fam = family == 6 ? AF_INET6 : AF_INET;
  int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (alen > 0 || port > 0) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (alen > 0) {
      if (parse_addr(addr, fam, &ss) < 0) {
        close(fd);
        return throw_msg(env, "createSocket: bad local address");
      }
    } else {
      ss.ss_family = (sa_family_t)fam;
    }
    socklen_t sl = fam == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (fam == AF_INET6) ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
    else ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
      int e = errno;
      close(fd);
      return throw_errno(env, "bind", e);
    }
  }
  napi_value out;
  napi_create_int32(env, fd, &out);
  return out;
}

static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t fd;
  if (argc < 1 || !get_int(env, argv[0], &fd)) return throw_msg(env, "closeFd(fd)");
  if (close(fd) != 0) return throw_errno(env, "close", errno);
  return NULL;
}

/* Copies a JS string[] into a NULL-terminated, malloc'd char*[] (NULL on error). */
static char **str_array(napi_env env, napi_value arr) {
  uint32_t n = 0;
  if (napi_get_array_length(env, arr, &n) != napi_ok) return NULL;
  char **out = calloc((size_t)n + 1, sizeof(char *));
  if (!out) return NULL;
  for (uint32_t i = 0; i < n; i++) {
    napi_value v;
    size_t len = 0;
    if (napi_get_element(env, arr, i, &v) != napi_ok || !get_str(env, v, NULL, 0, &len)) goto fail;
    out[i] = malloc(len + 1);
    if (!out[i] || !get_str(env, v, out[i], len + 1, &len)) goto fail;
  }
  return out;
fail:
  for (uint32_t i = 0; i < n; i++) free(out[i]);
  free(out);
  return NULL;
}

static void free_array(char **a) {
  if (!a) return;
  for (char **p = a; *p; p++) free(*p);
  free(a);
}

/* execve(file, argv, env): does not return on success. */
static napi_value exec_ve(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char file[4096];
  size_t len;
  if (argc < 3 || !get_str(env, argv[0], file, sizeof file, &len)) return throw_msg(env, "execve(file, argv, env)");
  char **args = str_array(env, argv[1]);
  char **envp = str_array(env, argv[2]);
  if (!args || !envp) {
    free_array(args);
    free_array(envp);
    return throw_msg(env, "execve: argv and env must be string arrays");
  }
  /* Node marks stdio close-on-exec; the new image must inherit it (as Node 23's process.execve does). */
  for (int fd = 0; fd <= 2; fd++) {
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0 && (fl & FD_CLOEXEC)) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  execve(file, args, envp);
  int err = errno;
  free_array(args);
  free_array(envp);
  return throw_errno(env, "execve", err);
}

/* setMallocTrimThreshold(bytes) -> boolean: the option was taken (glibc only). */
static napi_value set_trim_threshold(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int32_t bytes;
  if (argc < 1 || !get_int(env, argv[0], &bytes) || bytes < 0) return throw_msg(env, "setMallocTrimThreshold(bytes)");
  int ok = 0;
#ifdef __GLIBC__
  ok = mallopt(M_TRIM_THRESHOLD, bytes) == 1;
#endif
  napi_value out;
  napi_get_boolean(env, ok, &out);
  return out;
}

/* releaseFilePages(start, length): madvise(MADV_DONTNEED). Whole pages; the caller picks the range. */
static napi_value release_file_pages(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t start, length;
  long page = sysconf(_SC_PAGESIZE);
  if (argc < 2 || napi_get_value_int64(env, argv[0], &start) != napi_ok ||
      napi_get_value_int64(env, argv[1], &length) != napi_ok || start <= 0 || length <= 0 || start % page != 0 ||
      length % page != 0)
    return throw_msg(env, "releaseFilePages(start, length): page-aligned, positive");
  if (madvise((void *)(uintptr_t)start, (size_t)length, MADV_DONTNEED) != 0) return throw_errno(env, "madvise", errno);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"setMd5", NULL, set_md5, NULL, NULL, NULL, napi_default, NULL},
      {"setTtl", NULL, set_ttl, NULL, NULL, NULL, napi_default, NULL},
      {"setMinTtl", NULL, set_min_ttl, NULL, NULL, NULL, napi_default, NULL},
      {"setRcvBuf", NULL, set_rcvbuf, NULL, NULL, NULL, napi_default, NULL},
      {"createSocket", NULL, create_socket, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"execve", NULL, exec_ve, NULL, NULL, NULL, napi_default, NULL},
      {"setMallocTrimThreshold", NULL, set_trim_threshold, NULL, NULL, NULL, napi_default, NULL},
      {"releaseFilePages", NULL, release_file_pages, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
