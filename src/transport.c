/*
 * transport owns the bottom of the way to a server and the one interface
 * every layer of it offers: non-blocking read and write, and a wait that
 * ends at an absolute deadline on the monotonic clock or at once when a
 * signal posthorn acts on arrives (the signal pipe is polled beside the
 * socket, so a signal landing just before poll() still ends it).  The
 * bottoms are TCP (name resolution, then a bounded non-blocking connect
 * to each address in turn, TCP_NODELAY so that a command group leaves as
 * one segment, and delayed ACKs off before each wait for input), a
 * unix-domain socket, and an in-memory stream whose far end is a pair of
 * callbacks (unit tests, fuzzing).  Nothing here knows SMTP, TLS or
 * lines: the layers above call down, never the other way.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "transport.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/sig.h"

long long
transport_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
transport_deadline(long long now, int seconds, long long cap)
{
	long long d = 0;

	if (seconds > 0)
		d = now + (long long)seconds * 1000;
	if (cap > 0 && (d == 0 || cap < d))
		d = cap;
	return d;
}

ssize_t
transport_read(struct transport *t, void *p, size_t n, struct err *e)
{
	return t->ops->read(t, p, n, e);
}

ssize_t
transport_write(struct transport *t, const void *p, size_t n, struct err *e)
{
	return t->ops->write(t, p, n, e);
}

int
transport_wait(struct transport *t, int want, long long deadline,
    struct err *e)
{
	return t->ops->wait(t, want, deadline, e);
}

void
transport_close(struct transport *t)
{
	struct transport *below;
	char *label, *peer;

	/* Top down: a layer may still write to the one below as it ends
	   (TLS's close_notify). */
	while (t != NULL) {
		below = t->below;
		label = t->label;
		peer = t->peer;
		t->ops->free(t);
		free(label);
		free(peer);
		t = below;
	}
}

void
transport_layer(struct transport *t, const struct transport_ops *ops,
    struct transport *below)
{
	t->ops = ops;
	t->below = below;
	t->fd = below != NULL ? below->fd : -1;
	t->label = xstrdup(below != NULL ? below->label : "server");
	t->peer = xstrdup(below != NULL ? below->peer : "");
}

/* A layer's common fields, for the constructors here and in tls.c. */
static void
transport_setup(struct transport *t, const struct transport_ops *ops,
    const char *label, const char *peer)
{
	t->ops = ops;
	t->below = NULL;
	t->fd = -1;
	t->label = xstrdup(label != NULL ? label : "server");
	t->peer = xstrdup(peer != NULL ? peer : "");
}

/* strerror, with a word for the signal that ended a wait. */
static const char *
transport_strerror(int err)
{
	return err == EINTR ? "interrupted by a signal" : strerror(err);
}

/* ------------------------------------------------------------ sockets */

struct sock {
	struct transport	 t;
	int			 tcp;	/* delayed ACKs can be switched off */
};

/*
 * Waits for events on fd until deadline; the ready directions, 0 at the
 * deadline, -1 with errno (EINTR once SIGINT, SIGTERM or SIGHUP was
 * caught).
 */
static int
sock_poll(int fd, int want, long long deadline, int tcp)
{
	struct pollfd pfd[2];
	long long left;
	int ms, r, ready, one = 1;
	short events = 0;

	if (want & TRANSPORT_IN)
		events |= POLLIN;
	if (want & TRANSPORT_OUT)
		events |= POLLOUT;
	/*
	 * Acknowledge at once while waiting for the peer: a server that keeps
	 * Nagle's algorithm on holds its reply until our ACK of its previous
	 * segment arrives, and a delayed ACK costs 40 ms (Linux resets the
	 * flag by itself, so it is set before every wait).
	 */
	if (tcp && (want & TRANSPORT_IN))
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof(one));
	for (;;) {
		ms = -1;
		if (deadline == TRANSPORT_POLL)
			ms = 0;
		else if (deadline > 0) {
			left = deadline - transport_now();
			ms = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
		}
		if (sig_caught) {
			errno = EINTR;
			return -1;
		}
		pfd[0].fd = fd;
		pfd[0].events = events;
		pfd[0].revents = 0;
		pfd[1].fd = sig_fd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		r = poll(pfd, sig_fd != -1 ? 2 : 1, ms);
		if (r > 0 && pfd[0].revents != 0) {
			ready = 0;
			/* An error or hang-up is news for either direction:
			   the read or write that follows reports it. */
			if (pfd[0].revents & (POLLIN | POLLERR | POLLHUP))
				ready |= want & TRANSPORT_IN;
			if (pfd[0].revents & (POLLOUT | POLLERR | POLLHUP))
				ready |= want & TRANSPORT_OUT;
			return ready != 0 ? ready : want;
		}
		if (r == -1 && errno != EINTR)
			return -1;
		if (r == 0 && ms >= 0 && (deadline == TRANSPORT_POLL ||
		    transport_now() >= deadline))
			return 0;
	}
}

static ssize_t
sock_read(struct transport *t, void *p, size_t n, struct err *e)
{
	ssize_t r;

	for (;;) {
		r = recv(t->fd, p, n, MSG_DONTWAIT);
		if (r >= 0)
			return r;
		if (errno == EINTR && !sig_caught)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return TRANSPORT_AGAIN;
		return err_set(e, ERR_TEMP, "cannot read from %s: %s",
		    t->label, transport_strerror(errno));
	}
}

static ssize_t
sock_write(struct transport *t, const void *p, size_t n, struct err *e)
{
	ssize_t r;

	for (;;) {
		r = send(t->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0)
			return r;
		if (r == 0)
			return TRANSPORT_AGAIN;
		if (errno == EINTR && !sig_caught)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return TRANSPORT_AGAIN;
		return err_set(e, ERR_TEMP, "cannot send to %s: %s", t->label,
		    transport_strerror(errno));
	}
}

static int
sock_wait(struct transport *t, int want, long long deadline, struct err *e)
{
	struct sock *s = (struct sock *)t;
	int r;

	r = sock_poll(t->fd, want, deadline, s->tcp);
	if (r == -1)
		return err_set(e, ERR_TEMP, "cannot %s %s: %s",
		    want & TRANSPORT_IN ? "read from" : "send to", t->label,
		    transport_strerror(errno));
	return r;
}

static void
sock_free(struct transport *t)
{
	if (t->fd != -1)
		close(t->fd);
	free(t);
}

static const struct transport_ops sock_ops = {
	sock_read, sock_write, sock_wait, sock_free
};

static struct transport *
sock_new(int fd, int tcp, const char *label, const char *peer)
{
	struct sock *s = xcalloc(1, sizeof(*s));

	transport_setup(&s->t, &sock_ops, label, peer);
	s->t.fd = fd;
	s->tcp = tcp;
	return &s->t;
}

/*
 * A non-blocking connect on fd to sa, bounded by deadline: 0, or -1 with
 * the reason in why.
 */
static int
sock_connect(int fd, const struct sockaddr *sa, socklen_t salen,
    long long deadline, int tcp, const char *limit, char *why, size_t whysz)
{
	socklen_t len;
	int r, soerr;

	if (connect(fd, sa, salen) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EINTR) {
		snprintf(why, whysz, "%s", transport_strerror(errno));
		return -1;
	}
	r = sock_poll(fd, TRANSPORT_OUT, deadline, tcp);
	if (r == 0) {
		snprintf(why, whysz, "timed out%s", limit);
		return -1;
	}
	if (r == -1) {
		snprintf(why, whysz, "%s", transport_strerror(errno));
		return -1;
	}
	len = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1) {
		snprintf(why, whysz, "%s", strerror(errno));
		return -1;
	}
	if (soerr != 0) {
		snprintf(why, whysz, "%s", strerror(soerr));
		return -1;
	}
	return 0;
}

/* A socket with close-on-exec and O_NONBLOCK, or -1 with why. */
static int
sock_open(int family, int type, int proto, char *why, size_t whysz)
{
	int fd, flags;

	fd = socket(family, type, proto);
	if (fd == -1) {
		snprintf(why, whysz, "%s", strerror(errno));
		return -1;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    (flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1) {
		snprintf(why, whysz, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int
tcp_gai_error(struct err *e, const char *host, int r)
{
	switch (r) {
	case EAI_NONAME:
#if defined(EAI_NODATA) && EAI_NODATA != EAI_NONAME
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
	case EAI_FAIL:
		return err_set(e, ERR_NOHOST, "cannot resolve host '%s': %s",
		    host, gai_strerror(r));
	case EAI_SYSTEM:
		return err_set(e, ERR_TEMP, "cannot resolve host '%s': %s",
		    host, strerror(errno));
	default:
		/* EAI_AGAIN above all: the name may resolve later. */
		return err_set(e, ERR_TEMP, "cannot resolve host '%s': %s",
		    host, gai_strerror(r));
	}
}

/* The numeric form of an address (NI_MAXHOST always holds it). */
static void
tcp_numeric(const struct sockaddr *sa, socklen_t len, char out[NI_MAXHOST])
{
	if (getnameinfo(sa, len, out, NI_MAXHOST, NULL, 0,
	    NI_NUMERICHOST) != 0)
		memcpy(out, "?", 2);
}

/*
 * One connection attempt: bind, a bounded connect, then TCP_NODELAY.
 * The socket (still non-blocking), or -1 with the reason in why.
 */
static int
tcp_try(const struct addrinfo *ai, const struct addrinfo *src,
    const char *source_ip, int attempt, long long deadline, char *why,
    size_t whysz)
{
	long long until;
	char limit[48];
	int fd, one = 1;

	until = transport_deadline(transport_now(), attempt, deadline);
	limit[0] = '\0';
	if (attempt > 0 && until != deadline)
		snprintf(limit, sizeof(limit), " after %d s", attempt);
	fd = sock_open(ai->ai_family, ai->ai_socktype, ai->ai_protocol, why,
	    whysz);
	if (fd == -1)
		return -1;
	if (src != NULL && bind(fd, src->ai_addr, src->ai_addrlen) == -1) {
		snprintf(why, whysz, "cannot bind to source address '%s': %s",
		    source_ip, strerror(errno));
		close(fd);
		return -1;
	}
	if (sock_connect(fd, ai->ai_addr, ai->ai_addrlen, until, 1, limit,
	    why, whysz) == -1) {
		close(fd);
		return -1;
	}
	/* Best effort: without it a command group may wait for Nagle. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

struct transport *
transport_tcp(const char *host, int port, const char *source_ip,
    int attempt_timeout, long long deadline, struct err *e)
{
	struct addrinfo hints, *res = NULL, *ai, *src = NULL, *sa = NULL;
	char portstr[16], addr[NI_MAXHOST], why[512];
	int fd = -1, r, tried = 0;

	if (port < 1 || port > 65535) {
		err_set(e, ERR_CONFIG, "invalid port %d for host '%s'", port,
		    host);
		return NULL;
	}
	snprintf(portstr, sizeof(portstr), "%d", port);

	/*
	 * AF_UNSPEC without AI_ADDRCONFIG: AI_ADDRCONFIG ignores loopback
	 * addresses when it decides which families are configured, so on a
	 * host whose only addresses are loopback (a container, a test
	 * machine, a laptop offline) "localhost" or "::1" would not resolve
	 * at all.  An address of a family the host cannot reach fails at
	 * once with ENETUNREACH and the next one is tried.
	 */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	r = getaddrinfo(host, portstr, &hints, &res);
	if (r != 0) {
		tcp_gai_error(e, host, r);
		return NULL;
	}
	if (source_ip != NULL) {
		hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
		r = getaddrinfo(source_ip, NULL, &hints, &src);
		if (r != 0) {
			freeaddrinfo(res);
			err_set(e, ERR_CONFIG, "invalid source address '%s': %s",
			    source_ip, gai_strerror(r));
			return NULL;
		}
	}

	addr[0] = '\0';
	why[0] = '\0';
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (src != NULL) {
			for (sa = src; sa != NULL; sa = sa->ai_next)
				if (sa->ai_family == ai->ai_family)
					break;
			if (sa == NULL)
				continue;
		}
		tried++;
		tcp_numeric(ai->ai_addr, ai->ai_addrlen, addr);
		fd = tcp_try(ai, sa, source_ip, attempt_timeout, deadline, why,
		    sizeof(why));
		if (fd != -1 || sig_caught)
			break;
		if (deadline > 0 && transport_now() >= deadline)
			break;
	}
	freeaddrinfo(res);
	if (src != NULL)
		freeaddrinfo(src);

	if (fd == -1 && tried == 0) {
		err_set(e, ERR_CONFIG, "host '%s' has no address of the "
		    "family of source address '%s'", host, source_ip);
		return NULL;
	}
	if (fd == -1) {
		err_set(e, ERR_TEMP, "cannot connect to %s (%s port %d): %s",
		    host, addr, port, why);
		return NULL;
	}
	return sock_new(fd, 1, host, addr);
}

struct transport *
transport_unix(const char *path, long long deadline, struct err *e)
{
	struct sockaddr_un sun;
	char why[512];
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		err_set(e, ERR_CONFIG, "socket path '%s' is too long (at "
		    "most %zu bytes)", path, sizeof(sun.sun_path) - 1);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = sock_open(AF_UNIX, SOCK_STREAM, 0, why, sizeof(why));
	if (fd == -1) {
		err_set(e, ERR_TEMP, "cannot connect to socket '%s': %s",
		    path, why);
		return NULL;
	}
	/*
	 * A unix-domain connect does not go on in the background: it
	 * succeeds or fails at once (EAGAIN: the listen queue is full).
	 */
	if (sock_connect(fd, (struct sockaddr *)&sun, sizeof(sun), deadline,
	    0, "", why, sizeof(why)) == -1) {
		close(fd);
		err_set(e, ERR_TEMP, "cannot connect to socket '%s': %s",
		    path, why);
		return NULL;
	}
	return sock_new(fd, 0, path, path);
}

/* ------------------------------------------------------------- memory */

struct mem {
	struct transport	 t;
	struct transport_peer	 peer;
	unsigned char		 ahead[4096];	/* read by wait, not yet given */
	size_t			 off;
	size_t			 len;
	int			 eof;
	int			 reset;		/* the peer's read failed */
	int			 gone;		/* the peer's write failed */
};

/* The peer's next bytes into ahead: 1 some, 0 none for now. */
static int
mem_peek(struct mem *m)
{
	ssize_t r;

	if (m->off < m->len || m->eof || m->reset)
		return 1;
	r = m->peer.read(m->peer.arg, m->ahead, sizeof(m->ahead));
	if (r == TRANSPORT_AGAIN)
		return 0;
	m->off = 0;
	m->len = 0;
	if (r > 0)
		m->len = (size_t)r;
	else if (r == 0)
		m->eof = 1;
	else
		m->reset = 1;
	return 1;
}

static ssize_t
mem_read(struct transport *t, void *p, size_t n, struct err *e)
{
	struct mem *m = (struct mem *)t;
	ssize_t r;

	if (m->off < m->len) {
		if (n > m->len - m->off)
			n = m->len - m->off;
		memcpy(p, m->ahead + m->off, n);
		m->off += n;
		return (ssize_t)n;
	}
	if (m->eof)
		return 0;
	if (m->reset)
		return err_set(e, ERR_TEMP, "cannot read from %s: %s",
		    t->label, strerror(ECONNRESET));
	r = m->peer.read(m->peer.arg, p, n);
	if (r == 0)
		m->eof = 1;
	if (r == -1 || (r < 0 && r != TRANSPORT_AGAIN)) {
		m->reset = 1;
		return err_set(e, ERR_TEMP, "cannot read from %s: %s",
		    t->label, strerror(ECONNRESET));
	}
	return r;
}

static ssize_t
mem_write(struct transport *t, const void *p, size_t n, struct err *e)
{
	struct mem *m = (struct mem *)t;

	if (!m->gone && m->peer.write(m->peer.arg, p, n) == 0)
		return (ssize_t)n;
	m->gone = 1;
	return err_set(e, ERR_TEMP, "cannot send to %s: %s", t->label,
	    strerror(EPIPE));
}

static int
mem_wait(struct transport *t, int want, long long deadline, struct err *e)
{
	struct mem *m = (struct mem *)t;
	int ready = 0;

	if (sig_caught)
		return err_set(e, ERR_TEMP, "cannot %s %s: %s",
		    want & TRANSPORT_IN ? "read from" : "send to", t->label,
		    transport_strerror(EINTR));
	if (want & TRANSPORT_OUT)
		ready |= TRANSPORT_OUT;
	if (!(want & TRANSPORT_IN))
		return ready;
	if (mem_peek(m))
		return ready | TRANSPORT_IN;
	/* Only a real wait for input lets the peer take its turn. */
	if (ready != 0 || deadline == TRANSPORT_POLL ||
	    (deadline > 0 && transport_now() >= deadline))
		return ready;
	if (m->peer.turn != NULL)
		m->peer.turn(m->peer.arg);
	return mem_peek(m) ? TRANSPORT_IN : 0;
}

static void
mem_free(struct transport *t)
{
	free(t);
}

static const struct transport_ops mem_ops = {
	mem_read, mem_write, mem_wait, mem_free
};

struct transport *
transport_memory(const struct transport_peer *peer, const char *label)
{
	struct mem *m = xcalloc(1, sizeof(*m));

	transport_setup(&m->t, &mem_ops, label, "memory");
	m->peer = *peer;
	return &m->t;
}

/* transport_memory_buf's peer: a buffer to read, a buf to write. */
struct membuf {
	const unsigned char	*in;
	size_t			 n;
	size_t			 off;
	struct buf		*out;
};

static ssize_t
membuf_read(void *arg, void *p, size_t n)
{
	struct membuf *b = arg;

	if (n > b->n - b->off)
		n = b->n - b->off;
	memcpy(p, b->in + b->off, n);
	b->off += n;
	return (ssize_t)n;
}

static int
membuf_write(void *arg, const void *p, size_t n)
{
	struct membuf *b = arg;

	return buf_add(b->out, p, n);
}

/* The membuf lives right after the mem layer, in the same allocation. */
struct mem_with_buf {
	struct mem	m;
	struct membuf	b;
};

struct transport *
transport_memory_buf(const void *in, size_t n, struct buf *out,
    const char *label)
{
	struct mem_with_buf *mb = xcalloc(1, sizeof(*mb));

	transport_setup(&mb->m.t, &mem_ops, label, "memory");
	mb->b.in = in;
	mb->b.n = n;
	mb->b.out = out;
	mb->m.peer.read = membuf_read;
	mb->m.peer.write = membuf_write;
	mb->m.peer.turn = NULL;
	mb->m.peer.arg = &mb->b;
	return &mb->m.t;
}
