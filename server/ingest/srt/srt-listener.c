/*
 * The SRT listener the origin runs as a child: one UDP port for every publisher. Its listen callback asks Node
 * (over stdin/stdout) whether to take each caller's streamid; accepted callers' MPEG-TS reaches Node on stdout.
 *
 * Usage: srt-listener HOST PORT
 *
 * stdout, to Node: frames of [type u8][connection id u32 BE][payload length u32 BE][payload]:
 *   'P' ready      id 0, payload the bound UDP port as decimal text
 *   'R' request    id = the new socket, payload [address length u8][address "ip:port"][streamid]
 *   'O' open       the handshake completed: data follows
 *   'F' failed     accepted by Node, but the handshake did not complete (e.g. a passphrase mismatch)
 *   'D' data       payload one SRT message (up to 1316 bytes of MPEG-TS)
 *   'C' closed     payload the reason
 *   'L' log        id 0, payload a line of text
 * stdin, from Node: lines
 *   "A ID [PASSPHRASE]"  accept the request ID (the passphrase, if any, is the rest of the line)
 *   "J ID CODE"          reject the request ID with an SRT rejection code (1000-2999)
 *   "K ID"               close connection ID
 * stdin's end stops the listener (Node exited or closed it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <srt/srt.h>
#include <srt/access_control.h>

/* Longest wait for Node's answer inside the listen callback: the callback holds libsrt's receive thread. */
#define DECISION_TIMEOUT_MS 1000
/* Callers that Node accepted but whose handshake has not completed after this long are reported failed. */
#define HANDSHAKE_TIMEOUT_MS 5000
#define MAX_CONNECTIONS 1024
#define MAX_PENDING 64
#define MAX_PASSPHRASE 79
#define MAX_LINE 256

typedef struct {
  SRTSOCKET id;
  int decided; /* 0 waiting, 1 accepted, -1 rejected */
  int code;
  char passphrase[MAX_PASSPHRASE + 1];
} Decision;

typedef struct {
  SRTSOCKET id;
  int64_t since_ms;
} Handshake;

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t decision_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t decision_ready = PTHREAD_COND_INITIALIZER;
static Decision decisions[MAX_PENDING];
/* Accepted by Node in the callback, not yet returned by srt_accept. Touched by both threads under decision_lock. */
static Handshake handshakes[MAX_PENDING];
static SRTSOCKET open_sockets[MAX_CONNECTIONS];
static int open_count = 0;
static int epoll_id = -1;

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes every byte of `parts` (one syscall for a whole frame in the usual case). */
static void write_all(struct iovec *parts, int count) {
  while (count > 0) {
    ssize_t n = writev(STDOUT_FILENO, parts, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* Node is gone: nothing left to serve. */
      _exit(0);
    }
    while (count > 0 && (size_t)n >= parts->iov_len) {
      n -= (ssize_t)parts->iov_len;
      parts++;
      count--;
    }
    if (count > 0) {
      parts->iov_base = (uint8_t *)parts->iov_base + n;
      parts->iov_len -= (size_t)n;
    }
  }
}

static void put_u32(uint8_t *at, uint32_t value) {
  at[0] = (uint8_t)(value >> 24);
  at[1] = (uint8_t)(value >> 16);
  at[2] = (uint8_t)(value >> 8);
  at[3] = (uint8_t)value;
}

/* One frame; a frame is written whole under out_lock, so the callback thread and the main loop never interleave. */
static void send_frame(char type, SRTSOCKET id, const void *a, size_t a_length, const void *b, size_t b_length) {
  uint8_t header[9];
  header[0] = (uint8_t)type;
  put_u32(header + 1, (uint32_t)id);
  put_u32(header + 5, (uint32_t)(a_length + b_length));
  struct iovec parts[3] = {{header, sizeof header}, {(void *)a, a_length}, {(void *)b, b_length}};
  pthread_mutex_lock(&out_lock);
  write_all(parts, 3);
  pthread_mutex_unlock(&out_lock);
}

static void send_text(char type, SRTSOCKET id, const char *format, ...) {
  char text[512];
  va_list args;
  va_start(args, format);
  int n = vsnprintf(text, sizeof text, format, args);
  va_end(args);
  if (n < 0) n = 0;
  if (n >= (int)sizeof text) n = sizeof text - 1;
  send_frame(type, id, text, (size_t)n, NULL, 0);
}

static void format_address(const struct sockaddr *address, char *out, size_t size) {
  char ip[INET6_ADDRSTRLEN] = "unknown";
  int port = 0;
  if (address->sa_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)address;
    inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
    port = ntohs(v4->sin_port);
  } else if (address->sa_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)address;
    inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
    port = ntohs(v6->sin6_port);
  }
  snprintf(out, size, "%s:%d", ip, port);
}

static void remember_handshake_locked(SRTSOCKET id) {
  for (int i = 0; i < MAX_PENDING; i++) {
    if (handshakes[i].id == SRT_INVALID_SOCK) {
      handshakes[i].id = id;
      handshakes[i].since_ms = now_ms();
      return;
    }
  }
}

/* Runs on libsrt's receive thread for each caller's conclusion handshake: Node decides, within DECISION_TIMEOUT_MS. */
static int on_listen(void *opaque, SRTSOCKET ns, int hs_version, const struct sockaddr *peer, const char *streamid) {
  (void)opaque;
  if (hs_version < 5 || streamid == NULL) {
    /* HSv4 callers (SRT before 1.3) carry no streamid, so there is no stream to route them to. */
    srt_setrejectreason(ns, SRT_REJX_BAD_REQUEST);
    return -1;
  }
  pthread_mutex_lock(&decision_lock);
  int slot = -1;
  for (int i = 0; i < MAX_PENDING; i++) {
    if (decisions[i].id == SRT_INVALID_SOCK) {
      slot = i;
      break;
    }
  }
  if (slot < 0) {
    pthread_mutex_unlock(&decision_lock);
    srt_setrejectreason(ns, SRT_REJX_OVERLOAD);
    return -1;
  }
  decisions[slot].id = ns;
  decisions[slot].decided = 0;
  decisions[slot].passphrase[0] = '\0';
  pthread_mutex_unlock(&decision_lock);

  char address[INET6_ADDRSTRLEN + 8];
  format_address(peer, address, sizeof address);
  uint8_t address_length = (uint8_t)strlen(address);
  uint8_t prefix[1 + sizeof address];
  prefix[0] = address_length;
  memcpy(prefix + 1, address, address_length);
  send_frame('R', ns, prefix, 1u + address_length, streamid, strlen(streamid));

  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += DECISION_TIMEOUT_MS / 1000;
  deadline.tv_nsec += (long)(DECISION_TIMEOUT_MS % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&decision_lock);
  while (decisions[slot].decided == 0) {
    if (pthread_cond_timedwait(&decision_ready, &decision_lock, &deadline) == ETIMEDOUT) break;
  }
  int decided = decisions[slot].decided;
  int code = decisions[slot].code;
  char passphrase[MAX_PASSPHRASE + 1];
  memcpy(passphrase, decisions[slot].passphrase, sizeof passphrase);
  decisions[slot].id = SRT_INVALID_SOCK;
  if (decided > 0) remember_handshake_locked(ns);
  pthread_mutex_unlock(&decision_lock);

  if (decided == 0) {
    send_text('L', 0, "no decision from the origin within %d ms for %s: rejected", DECISION_TIMEOUT_MS, address);
    send_text('F', ns, "no decision within %d ms", DECISION_TIMEOUT_MS);
    srt_setrejectreason(ns, SRT_REJX_DOWN);
    return -1;
  }
  if (decided < 0) {
    srt_setrejectreason(ns, code);
    return -1;
  }
  if (passphrase[0] != '\0' && srt_setsockflag(ns, SRTO_PASSPHRASE, passphrase, (int)strlen(passphrase)) != 0) {
    send_text('F', ns, "passphrase not set: %s", srt_getlasterror_str());
    srt_setrejectreason(ns, SRT_REJX_ISE);
    return -1;
  }
  return 0;
}

static void forget_handshake(SRTSOCKET id) {
  pthread_mutex_lock(&decision_lock);
  for (int i = 0; i < MAX_PENDING; i++) {
    if (handshakes[i].id == id) handshakes[i].id = SRT_INVALID_SOCK;
  }
  pthread_mutex_unlock(&decision_lock);
}

/* Reports callers accepted by Node whose handshake died (bad passphrase) or never completed. */
static void check_handshakes(void) {
  int64_t now = now_ms();
  SRTSOCKET failed[MAX_PENDING];
  int failed_count = 0;
  pthread_mutex_lock(&decision_lock);
  for (int i = 0; i < MAX_PENDING; i++) {
    SRTSOCKET id = handshakes[i].id;
    if (id == SRT_INVALID_SOCK) continue;
    SRT_SOCKSTATUS state = srt_getsockstate(id);
    if (state >= SRTS_BROKEN || now - handshakes[i].since_ms > HANDSHAKE_TIMEOUT_MS) {
      failed[failed_count++] = id;
      handshakes[i].id = SRT_INVALID_SOCK;
    }
  }
  pthread_mutex_unlock(&decision_lock);
  for (int i = 0; i < failed_count; i++) send_text('F', failed[i], "the handshake did not complete (a passphrase mismatch?)");
}

static int find_open(SRTSOCKET id) {
  for (int i = 0; i < open_count; i++) {
    if (open_sockets[i] == id) return i;
  }
  return -1;
}

static void close_connection(SRTSOCKET id, const char *reason) {
  int at = find_open(id);
  if (at < 0) return;
  open_sockets[at] = open_sockets[--open_count];
  srt_epoll_remove_usock(epoll_id, id);
  srt_close(id);
  send_text('C', id, "%s", reason);
}

/* One connection per readiness report: the listener's epoll is level-triggered, so more pending ones report again. */
static void accept_one(SRTSOCKET listener) {
  struct sockaddr_storage peer;
  int peer_length = sizeof peer;
  SRTSOCKET id = srt_accept(listener, (struct sockaddr *)&peer, &peer_length);
  if (id == SRT_INVALID_SOCK) return;
  forget_handshake(id);
  if (open_count >= MAX_CONNECTIONS) {
    srt_close(id);
    send_text('F', id, "more than %d connections", MAX_CONNECTIONS);
    return;
  }
  int no = 0;
  srt_setsockflag(id, SRTO_RCVSYN, &no, sizeof no);
  int events = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  srt_epoll_add_usock(epoll_id, id, &events);
  open_sockets[open_count++] = id;
  send_frame('O', id, NULL, 0, NULL, 0);
}

static void read_connection(SRTSOCKET id) {
  char message[1500];
  for (;;) {
    int n = srt_recvmsg(id, message, sizeof message);
    if (n > 0) {
      send_frame('D', id, message, (size_t)n, NULL, 0);
      continue;
    }
    if (n == SRT_ERROR && srt_getlasterror(NULL) == SRT_EASYNCRCV) return;
    close_connection(id, n == 0 ? "the publisher closed the connection" : srt_getlasterror_str());
    return;
  }
}

static void decide(SRTSOCKET id, int decided, int code, const char *passphrase) {
  pthread_mutex_lock(&decision_lock);
  for (int i = 0; i < MAX_PENDING; i++) {
    if (decisions[i].id == id && decisions[i].decided == 0) {
      decisions[i].decided = decided;
      decisions[i].code = code;
      snprintf(decisions[i].passphrase, sizeof decisions[i].passphrase, "%s", passphrase);
      pthread_cond_broadcast(&decision_ready);
    }
  }
  pthread_mutex_unlock(&decision_lock);
}

static void run_command(char *line) {
  char kind = line[0];
  char *rest = line + 1;
  while (*rest == ' ') rest++;
  char *end = NULL;
  long id = strtol(rest, &end, 10);
  if (end == rest) {
    send_text('L', 0, "ignored a malformed command");
    return;
  }
  /* One space separates the fields: a passphrase may itself begin with spaces. */
  if (*end == ' ') end++;
  if (kind == 'A') {
    decide((SRTSOCKET)id, 1, 0, end);
  } else if (kind == 'J') {
    long code = strtol(end, NULL, 10);
    if (code < SRT_REJC_PREDEFINED || code >= SRT_REJC_USERDEFINED + 1000) code = SRT_REJX_FALLBACK;
    decide((SRTSOCKET)id, -1, (int)code, "");
  } else if (kind == 'K') {
    close_connection((SRTSOCKET)id, "closed by the origin");
  } else {
    send_text('L', 0, "ignored an unknown command");
  }
}

/* Reads what stdin has; returns 0 at its end. Lines longer than MAX_LINE are dropped whole. */
static int read_commands(void) {
  static char line[MAX_LINE];
  static size_t length = 0;
  static int overlong = 0;
  char buffer[4096];
  ssize_t n = read(STDIN_FILENO, buffer, sizeof buffer);
  if (n == 0) return 0;
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  for (ssize_t i = 0; i < n; i++) {
    char c = buffer[i];
    if (c == '\n') {
      if (!overlong && length > 0) {
        line[length] = '\0';
        run_command(line);
      }
      length = 0;
      overlong = 0;
    } else if (length + 1 < sizeof line) {
      line[length++] = c;
    } else {
      overlong = 1;
    }
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  for (int i = 0; i < MAX_PENDING; i++) {
    decisions[i].id = SRT_INVALID_SOCK;
    handshakes[i].id = SRT_INVALID_SOCK;
  }
  fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
#ifdef F_SETPIPE_SZ
  /* Room for bursts while Node is busy: a blocked write stalls every publisher. */
  fcntl(STDOUT_FILENO, F_SETPIPE_SZ, 1 << 20);
#endif

  struct sockaddr_storage bind_address;
  memset(&bind_address, 0, sizeof bind_address);
  int bind_length;
  int port = atoi(argv[2]);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&bind_address;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&bind_address;
  if (inet_pton(AF_INET, argv[1], &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    bind_length = sizeof *v4;
  } else if (inet_pton(AF_INET6, argv[1], &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    bind_length = sizeof *v6;
  } else {
    fprintf(stderr, "srt-listener: HOST must be an IPv4 or IPv6 address, not %s\n", argv[1]);
    return 2;
  }

  srt_startup();
  srt_setloglevel(LOG_ERR);
  SRTSOCKET listener = srt_create_socket();
  int no = 0;
  srt_setsockflag(listener, SRTO_RCVSYN, &no, sizeof no);
  if (srt_bind(listener, (struct sockaddr *)&bind_address, bind_length) == SRT_ERROR ||
      srt_listen_callback(listener, on_listen, NULL) == SRT_ERROR || srt_listen(listener, 64) == SRT_ERROR) {
    fprintf(stderr, "srt-listener: cannot listen on %s:%d: %s\n", argv[1], port, srt_getlasterror_str());
    return 3;
  }
  struct sockaddr_storage bound;
  int bound_length = sizeof bound;
  srt_getsockname(listener, (struct sockaddr *)&bound, &bound_length);
  int bound_port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                               : ntohs(((struct sockaddr_in *)&bound)->sin_port);

  epoll_id = srt_epoll_create();
  int in = SRT_EPOLL_IN | SRT_EPOLL_ERR;
  srt_epoll_add_usock(epoll_id, listener, &in);
  int stdin_events = SRT_EPOLL_IN;
  srt_epoll_add_ssock(epoll_id, STDIN_FILENO, &stdin_events);
  send_text('P', 0, "%d", bound_port);

  SRTSOCKET ready[MAX_CONNECTIONS + 1];
  SYSSOCKET system_ready[1];
  for (;;) {
    int ready_count = MAX_CONNECTIONS + 1;
    int system_count = 1;
    int n = srt_epoll_wait(epoll_id, ready, &ready_count, NULL, NULL, 100, system_ready, &system_count, NULL, NULL);
    if (n > 0) {
      for (int i = 0; i < ready_count; i++) {
        if (ready[i] == listener) accept_one(listener);
        else read_connection(ready[i]);
      }
      if (system_count > 0 && !read_commands()) break;
    }
    check_handshakes();
  }
  while (open_count > 0) close_connection(open_sockets[0], "the listener stopped");
  srt_close(listener);
  srt_cleanup();
  return 0;
}
