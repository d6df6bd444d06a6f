/*
 * net owns the way to the server: name resolution, connecting to each
 * address in turn with a bounded wait, and struct conn, through which every
 * byte of the dialogue goes.  A conn has an input buffer that lines are cut
 * from and an output buffer that collects a command group so that it leaves
 * in one write (TCP_NODELAY is on, so one write is one segment).  Every
 * wait is a poll() bounded by the conn's timeout: no signals, no socket
 * timeout options.  Once TLS is started, lines are read through tls_read
 * and the output is written through tls_write, and GnuTLS in turn reaches
 * the socket only through conn_raw_read and conn_raw_write, so the same
 * poll-based waits bound the handshake and every record.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
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
#include "net.h"
#include "tls.h"
#include "util/alloc.h"
#include "util/sig.h"

/* The name used in messages: the host as given, else the address. */
static const char *
conn_name(const struct conn *c)
{
	if (c->host != NULL)
		return c->host;
	if (c->peer[0] != '\0')
		return c->peer;
	return "server";
}

static long long
net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Waits until fd is ready for events, at most seconds (0: no limit),
 * across interruptions by signals that posthorn does not act on; after
 * SIGINT, SIGTERM or SIGHUP (sig_caught) it gives up with EINTR.  1 ready,
 * 0 timed out, -1 error (errno).
 */
static int
net_wait(int fd, short events, int seconds)
{
	return net_poll(fd, events, seconds > 0 ? (seconds < INT_MAX / 1000 ?
	    seconds * 1000 : INT_MAX) : -1);
}

int
net_poll(int fd, short events, int ms)
{
	struct pollfd pfd[2];
	long long deadline = 0, left;
	int wait, r, one = 1;

	if (ms >= 0)
		deadline = net_now_ms() + ms;
	/*
	 * Acknowledge at once while waiting for the peer: a server that keeps
	 * Nagle's algorithm on holds its reply until our ACK of its previous
	 * segment arrives, and a delayed ACK costs 40 ms (Linux resets the
	 * flag by itself, so it is set before every wait).
	 */
	if (events & POLLIN)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof(one));
	for (;;) {
		wait = -1;
		if (ms >= 0) {
			left = deadline - net_now_ms();
			if (left <= 0)
				return 0;
			wait = left > INT_MAX ? INT_MAX : (int)left;
		}
		if (sig_caught) {
			errno = EINTR;
			return -1;
		}
		/* The signal pipe closes the race between the check above
		   and poll(). */
		pfd[0].fd = fd;
		pfd[0].events = events;
		pfd[0].revents = 0;
		pfd[1].fd = sig_fd;
		pfd[1].events = POLLIN;
		pfd[1].revents = 0;
		r = poll(pfd, sig_fd != -1 ? 2 : 1, wait);
		if (r > 0 && pfd[0].revents != 0)
			return 1;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

/* strerror, with a word for the signal that ended a wait. */
static const char *
net_strerror(int err)
{
	return err == EINTR ? "interrupted by a signal" : strerror(err);
}

void
conn_init(struct conn *c)
{
	c->fd = -1;
	c->tls = NULL;
	c->timeout = 0;
	c->host = NULL;
	c->peer[0] = '\0';
	c->in_start = 0;
	c->in_end = 0;
	c->out = NULL;
	c->out_len = 0;
	c->out_cap = 0;
	c->bytes_in = 0;
	c->bytes_out = 0;
}

static int
net_gai_error(struct err *e, const char *host, int r)
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

static void
net_numeric(const struct sockaddr *sa, socklen_t len, char *out,
    size_t outsz)
{
	char h[NI_MAXHOST];
	size_t n;

	if (getnameinfo(sa, len, h, sizeof(h), NULL, 0, NI_NUMERICHOST) != 0)
		memcpy(h, "?", 2);
	n = strlen(h);
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, h, n);
	out[n] = '\0';
}

/*
 * One connection attempt: a non-blocking connect bounded by timeout, then
 * back to a blocking socket with TCP_NODELAY.  The socket, or -1 with the
 * reason in why.
 */
static int
net_try(const struct addrinfo *ai, const struct addrinfo *src,
    const char *source_ip, int timeout, char *why, size_t whysz)
{
	socklen_t len;
	int fd, flags, r, soerr, one = 1, saved;

	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd == -1) {
		snprintf(why, whysz, "%s", strerror(errno));
		return -1;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1 ||
	    (flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		goto fail;
	if (src != NULL && bind(fd, src->ai_addr, src->ai_addrlen) == -1) {
		saved = errno;
		snprintf(why, whysz, "cannot bind to source address '%s': %s",
		    source_ip, strerror(saved));
		close(fd);
		return -1;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS && errno != EINTR)
			goto fail;
		r = net_wait(fd, POLLOUT, timeout);
		if (r == 0) {
			snprintf(why, whysz, "timed out after %d s", timeout);
			close(fd);
			return -1;
		}
		if (r == -1)
			goto fail;
		len = sizeof(soerr);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
			goto fail;
		if (soerr != 0) {
			snprintf(why, whysz, "%s", strerror(soerr));
			close(fd);
			return -1;
		}
	}
	if (fcntl(fd, F_SETFL, flags) == -1)
		goto fail;
	/* Best effort: without it a command group may wait for Nagle. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;

fail:
	saved = errno;
	snprintf(why, whysz, "%s", net_strerror(saved));
	close(fd);
	return -1;
}

int
net_connect(struct conn *c, const char *host, int port,
    const char *source_ip, int timeout, struct err *e)
{
	struct addrinfo hints, *res = NULL, *ai, *src = NULL, *sa = NULL;
	char portstr[16], addr[sizeof(c->peer)], why[512];
	int fd = -1, r, tried = 0;

	if (c->fd != -1 || c->out != NULL || c->host != NULL)
		conn_close(c);
	conn_init(c);
	if (port < 1 || port > 65535)
		return err_set(e, ERR_CONFIG, "invalid port %d for host '%s'",
		    port, host);
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
	if (r != 0)
		return net_gai_error(e, host, r);

	if (source_ip != NULL) {
		hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
		r = getaddrinfo(source_ip, NULL, &hints, &src);
		if (r != 0) {
			freeaddrinfo(res);
			return err_set(e, ERR_CONFIG,
			    "invalid source address '%s': %s", source_ip,
			    gai_strerror(r));
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
		net_numeric(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr));
		fd = net_try(ai, sa, source_ip, timeout, why, sizeof(why));
		if (fd != -1 || sig_caught)
			break;
	}
	freeaddrinfo(res);
	if (src != NULL)
		freeaddrinfo(src);

	if (fd == -1 && tried == 0)
		return err_set(e, ERR_CONFIG, "host '%s' has no address of "
		    "the family of source address '%s'", host, source_ip);
	if (fd == -1)
		return err_set(e, ERR_TEMP,
		    "cannot connect to %s (%s port %d): %s", host, addr, port,
		    why);

	c->fd = fd;
	c->host = xstrdup(host);
	memcpy(c->peer, addr, sizeof(c->peer));
	c->timeout = timeout > 0 ? timeout : 0;
	return 0;
}

void
conn_set_timeout(struct conn *c, int seconds)
{
	c->timeout = seconds > 0 ? seconds : 0;
}

ssize_t
conn_raw_read(struct conn *c, void *p, size_t n, struct err *e)
{
	ssize_t r;
	int w;

	if (c->fd == -1)
		return err_set(e, ERR_SOFTWARE,
		    "read from a closed connection");
	for (;;) {
		r = recv(c->fd, p, n, MSG_DONTWAIT);
		if (r >= 0) {
			c->bytes_in += (uint64_t)r;
			return r;
		}
		if (errno == EINTR && !sig_caught)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		w = net_wait(c->fd, POLLIN, c->timeout);
		if (w == 0)
			return err_set(e, ERR_TEMP, "timed out after %d s "
			    "waiting for data from %s", c->timeout,
			    conn_name(c));
		if (w == -1)
			break;
	}
	return err_set(e, ERR_TEMP, "cannot read from %s: %s", conn_name(c),
	    net_strerror(errno));
}

int
conn_raw_write(struct conn *c, const void *p, size_t n, struct err *e)
{
	const char *s = p;
	ssize_t r;
	int w;

	if (c->fd == -1)
		return err_set(e, ERR_SOFTWARE,
		    "write to a closed connection");
	while (n > 0) {
		r = send(c->fd, s, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			c->bytes_out += (uint64_t)r;
			s += r;
			n -= (size_t)r;
			continue;
		}
		if (r == -1 && errno == EINTR && !sig_caught)
			continue;
		if (r == -1 && errno != EAGAIN && errno != EWOULDBLOCK)
			return err_set(e, ERR_TEMP, "cannot send to %s: %s",
			    conn_name(c), net_strerror(errno));
		w = net_wait(c->fd, POLLOUT, c->timeout);
		if (w == 0)
			return err_set(e, ERR_TEMP, "timed out after %d s "
			    "waiting to send to %s", c->timeout, conn_name(c));
		if (w == -1)
			return err_set(e, ERR_TEMP, "cannot send to %s: %s",
			    conn_name(c), net_strerror(errno));
	}
	return 0;
}

int
conn_getline(struct conn *c, const char **line, size_t *len, size_t max,
    struct err *e)
{
	unsigned char *start, *nl;
	size_t scanned = 0, pending, n;
	ssize_t r;

	for (;;) {
		start = c->in + c->in_start;
		pending = c->in_end - c->in_start;
		nl = memchr(start + scanned, '\n', pending - scanned);
		if (nl != NULL) {
			n = (size_t)(nl - start);
			c->in_start += n + 1;
			if (n > 0 && start[n - 1] == '\r')
				n--;
			if (n > max)
				return err_set(e, ERR_PROTOCOL, "line from %s "
				    "too long (more than %zu bytes)",
				    conn_name(c), max);
			start[n] = '\0';
			*line = (const char *)start;
			*len = n;
			return 0;
		}
		scanned = pending;
		/* max bytes and a CR may wait for their LF, no more. */
		if (pending > max + 1 || pending == sizeof(c->in))
			return err_set(e, ERR_PROTOCOL, "line from %s too long "
			    "(more than %zu bytes)", conn_name(c),
			    max < sizeof(c->in) - 2 ? max : sizeof(c->in) - 2);
		if (pending == 0) {
			c->in_start = 0;
			c->in_end = 0;
		} else if (c->in_end == sizeof(c->in)) {
			memmove(c->in, start, pending);
			c->in_start = 0;
			c->in_end = pending;
		}
		if (c->tls != NULL)
			r = tls_read(c, c->in + c->in_end,
			    sizeof(c->in) - c->in_end, e);
		else
			r = conn_raw_read(c, c->in + c->in_end,
			    sizeof(c->in) - c->in_end, e);
		if (r == -1)
			return -1;
		if (r == 0)
			return err_set(e, ERR_TEMP,
			    "connection closed by server");
		c->in_end += (size_t)r;
	}
}

size_t
conn_buffered(const struct conn *c)
{
	return c->in_end - c->in_start;
}

/* Writes p straight to the socket or TLS. */
static int
conn_send(struct conn *c, const void *p, size_t n, struct err *e)
{
	if (c->tls != NULL)
		return tls_write(c, p, n, e);
	return conn_raw_write(c, p, n, e);
}

int
conn_write(struct conn *c, const void *p, size_t n, struct err *e)
{
	const unsigned char *s = p;
	size_t k;

	if (c->out == NULL) {
		c->out = xmalloc(CONN_OUTBUF);
		c->out_cap = CONN_OUTBUF;
		c->out_len = 0;
	}
	while (n > 0) {
		/* A large span with nothing queued before it goes as it is:
		   copying a message body through the buffer buys nothing. */
		if (c->out_len == 0 && n >= c->out_cap)
			return conn_send(c, s, n, e);
		k = c->out_cap - c->out_len;
		if (k > n)
			k = n;
		memcpy(c->out + c->out_len, s, k);
		c->out_len += k;
		s += k;
		n -= k;
		if (c->out_len == c->out_cap && conn_flush(c, e) == -1)
			return -1;
	}
	return 0;
}

int
conn_write_secret(struct conn *c, const void *p, size_t n, struct err *e)
{
	c->out_secret = 1;
	return conn_write(c, p, n, e);
}

int
conn_flush(struct conn *c, struct err *e)
{
	int r;

	if (c->out_len == 0)
		return 0;
	r = conn_send(c, c->out, c->out_len, e);
	/* What held AUTH data is wiped; message data need not be. */
	if (c->out_secret)
		wipe(c->out, c->out_cap);
	c->out_secret = 0;
	c->out_len = 0;
	return r;
}

void
conn_close(struct conn *c)
{
	if (c->tls != NULL)
		tls_end(c);
	if (c->fd != -1) {
		close(c->fd);
		c->fd = -1;
	}
	if (c->out != NULL) {
		wipe(c->out, c->out_cap);
		free(c->out);
	}
	c->out = NULL;
	c->out_len = 0;
	c->out_cap = 0;
	free(c->host);
	c->host = NULL;
	c->in_start = 0;
	c->in_end = 0;
}
