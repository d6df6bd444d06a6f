/*
 * net owns struct conn: line I/O over a transport stack, and the clock.
 * A conn has an input buffer that lines (or raw bytes) are cut from and an
 * output buffer that collects a command group so that it leaves in one
 * write.  The transport layers never block; every wait happens here, in
 * conn_wait, against the current stage's deadline (set once when the
 * stage starts, so a peer that trickles one byte at a time gains
 * nothing) and the session's, and wakes once a second for whoever wants
 * to show a long wait.  While message data is written a conn can watch
 * for input, so that a server's early reply ends the data at once.
 * Connecting and starting TLS build the stack: TCP or a unix socket at
 * the bottom (transport.c), SOCKS5 on the TCP to a proxy (socks.c), TLS
 * on top (tls.c); nothing below calls up.
 */
#include "config.h"

#include <sys/types.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "net.h"
#include "socks.h"
#include "tls.h"
#include "transport.h"
#include "util/alloc.h"

/* The name used in messages: the host as given, else the address. */
static const char *
conn_name(const struct conn *c)
{
	if (c->host != NULL)
		return c->host;
	if (c->peer != NULL && c->peer[0] != '\0')
		return c->peer;
	return "server";
}

void
conn_init(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->t = NULL;
	c->tls = NULL;
	c->fd = -1;
	c->host = NULL;
	c->peer = NULL;
	c->what = NULL;
	c->on_wait = NULL;
	c->on_wait_arg = NULL;
	c->out = NULL;
}

void
conn_attach(struct conn *c, struct transport *t)
{
	c->t = t;
	c->tls = NULL;
	c->fd = t->fd;
	free(c->host);
	free(c->peer);
	c->host = xstrdup(t->label);
	c->peer = xstrdup(t->peer);
	c->in_start = 0;
	c->in_end = 0;
	c->early = 0;
}

void
conn_session(struct conn *c, int seconds)
{
	c->session_end = transport_deadline(transport_now(), seconds, 0);
	c->session_limit = seconds > 0 ? seconds : 0;
}

void
conn_session_extend(struct conn *c, int seconds)
{
	if (c->session_end == 0 || seconds <= 0)
		return;
	c->session_end += (long long)seconds * 1000;
	if (c->session_limit < INT_MAX - seconds)
		c->session_limit += seconds;
	else
		c->session_limit = INT_MAX;
	if (c->by_session)
		c->deadline = c->session_end;
}

/* The text of an expired deadline. */
static int
conn_timeout(struct conn *c, struct err *e)
{
	const char *what = c->what != NULL ? c->what : "for the server";

	if (c->deadline == TRANSPORT_POLL)
		return err_set(e, ERR_TEMP, "nothing more has arrived "
		    "from %s", conn_name(c));
	if (c->by_session)
		return err_set(e, ERR_TEMP, "timed out waiting %s: the "
		    "session took longer than its limit of %d s "
		    "(session_timeout)", what, c->session_limit);
	if (c->limit == 0)
		return err_set(e, ERR_TEMP, "timed out waiting %s", what);
	return err_set(e, ERR_TEMP, "timed out after %d s waiting %s",
	    c->limit, what);
}

int
conn_stage(struct conn *c, int seconds, const char *what, struct err *e)
{
	long long now = transport_now();

	c->what = what;
	c->limit = seconds > 0 ? seconds : 0;
	c->by_session = 0;
	if (c->session_end > 0 && now >= c->session_end) {
		c->deadline = c->session_end;
		c->by_session = 1;
		return conn_timeout(c, e);
	}
	if (seconds == CONN_NOWAIT) {
		c->deadline = TRANSPORT_POLL;
		return 0;
	}
	c->deadline = transport_deadline(now, seconds, c->session_end);
	c->by_session = c->session_end > 0 && c->deadline == c->session_end &&
	    (seconds <= 0 || c->session_end < now + (long long)seconds * 1000);
	return 0;
}

void
conn_on_wait(struct conn *c, conn_wait_fn fn, void *arg)
{
	c->on_wait = fn;
	c->on_wait_arg = arg;
}

void
conn_watch(struct conn *c, int on)
{
	c->watch = on;
	if (on)
		c->early = 0;
}

int
conn_early(const struct conn *c)
{
	return c->early;
}

/*
 * Waits until the stack can go on in the directions of want, within the
 * stage's deadline; tells on_wait about a long wait once a second.  The
 * ready directions, or -1 with e.  A layer that gives up before the time
 * asked (a silent in-memory peer) counts as the deadline.
 */
static int
conn_wait(struct conn *c, int want, struct err *e)
{
	long long start = transport_now(), now, until, next;
	int r, told = 0;

	if (c->t == NULL)
		return err_set(e, ERR_SOFTWARE, "wait on a closed connection");
	for (;;) {
		now = transport_now();
		if (c->deadline == TRANSPORT_POLL) {
			r = transport_wait(c->t, want, TRANSPORT_POLL, e);
			if (r == 0)
				r = conn_timeout(c, e);
		} else if (c->deadline > 0 && now >= c->deadline)
			r = conn_timeout(c, e);
		else {
			until = c->deadline;
			if (c->on_wait != NULL) {
				next = now + 1000 - (now - start) % 1000;
				if (until == 0 || next < until)
					until = next;
			}
			r = transport_wait(c->t, want, until, e);
			if (r == 0 && (until == 0 || transport_now() < until))
				r = conn_timeout(c, e);
		}
		if (r != 0) {
			if (told)
				c->on_wait(c->on_wait_arg, NULL, 0, 0);
			return r;
		}
		now = transport_now();
		if (c->on_wait != NULL && now - start >= 1000) {
			c->on_wait(c->on_wait_arg, c->what, now - start,
			    c->by_session ? c->session_limit : c->limit);
			told = 1;
		}
	}
}

/* More input into c->in, waiting as needed: bytes, 0 at EOF, -1. */
static ssize_t
conn_fill(struct conn *c, struct err *e)
{
	ssize_t r;

	if (c->t == NULL)
		return err_set(e, ERR_SOFTWARE,
		    "read from a closed connection");
	for (;;) {
		r = transport_read(c->t, c->in + c->in_end,
		    sizeof(c->in) - c->in_end, e);
		if (r != TRANSPORT_AGAIN)
			return r;
		if (conn_wait(c, TRANSPORT_IN, e) == -1)
			return -1;
	}
}

int
conn_starttls(struct conn *c, const struct tls_params *p, struct err *e)
{
	struct tls *tls;
	int r;

	if (c->t == NULL || c->tls != NULL)
		return err_set(e, ERR_SOFTWARE, "cannot start TLS with %s: %s",
		    conn_name(c), c->t == NULL ? "not connected" :
		    "TLS already active");
	/*
	 * Bytes the server sent before the handshake (after a STARTTLS 220)
	 * were never protected; the caller must have refused them.
	 */
	if (conn_buffered(c) > 0)
		return err_set(e, ERR_PROTOCOL, "%s sent data before the TLS "
		    "handshake", conn_name(c));
	if ((tls = tls_new(c->t, p, e)) == NULL)
		return -1;
	c->t = tls_transport(tls);
	c->tls = tls;
	if (conn_stage(c, p->timeout, "for the TLS handshake", e) == -1)
		return -1;
	for (;;) {
		r = tls_handshake(tls, e);
		if (r != TRANSPORT_AGAIN)
			return r;
		if (conn_wait(c, TRANSPORT_IN, e) == -1)
			return -1;
	}
}

/* TCP to the proxy, then SOCKS5 to d's host and port. */
static struct transport *
conn_dial_socks(const struct conn_dial *d, long long deadline,
    struct err *e)
{
	struct socks_params sp;
	struct transport *t;
	char proxy[TRANSPORT_LABEL_MAX + 32];
	int port = d->proxy_port > 0 ? d->proxy_port : SOCKS_PORT;

	t = transport_tcp(d->proxy_host, port, d->source_ip,
	    d->connect_timeout, deadline, e);
	if (t == NULL) {
		err_prefix(e, "SOCKS5 proxy: ");
		return NULL;
	}
	snprintf(proxy, sizeof(proxy), "%.*s port %d", TRANSPORT_LABEL_MAX,
	    d->proxy_host, port);
	memset(&sp, 0, sizeof(sp));
	sp.host = d->host;
	sp.port = d->port;
	sp.user = d->proxy_user;
	sp.password = d->proxy_password;
	sp.proxy = proxy;
	return socks_connect(t, &sp, transport_deadline(transport_now(),
	    d->connect_timeout, deadline), e);
}

int
conn_dial(struct conn *c, const struct conn_dial *d, struct err *e)
{
	struct transport *t;
	long long deadline;

	if (c->t != NULL)
		return err_set(e, ERR_SOFTWARE, "dial on an open connection");
	if (c->session_end > 0 && transport_now() >= c->session_end) {
		c->by_session = 1;
		c->what = "to connect";
		return conn_timeout(c, e);
	}
	deadline = c->session_end;
	if (d->unix_path != NULL)
		t = transport_unix(d->unix_path, deadline, e);
	else if (d->proxy_host != NULL)
		t = conn_dial_socks(d, deadline, e);
	else
		t = transport_tcp(d->host, d->port, d->source_ip,
		    d->connect_timeout, deadline, e);
	if (t == NULL)
		return -1;
	conn_attach(c, t);
	if (d->tls != NULL && conn_starttls(c, d->tls, e) == -1) {
		conn_close(c);
		return -1;
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
		r = conn_fill(c, e);
		if (r == -1)
			return -1;
		if (r == 0)
			return err_set(e, ERR_TEMP,
			    "connection closed by server");
		c->in_end += (size_t)r;
	}
}

ssize_t
conn_read(struct conn *c, void *p, size_t n, struct err *e)
{
	size_t k = conn_buffered(c);
	ssize_t r;

	if (n == 0)
		return 0;
	if (k == 0) {
		c->in_start = 0;
		c->in_end = 0;
		r = conn_fill(c, e);
		if (r <= 0)
			return r;
		c->in_end = (size_t)r;
		k = (size_t)r;
	}
	if (k > n)
		k = n;
	memcpy(p, c->in + c->in_start, k);
	c->in_start += k;
	return (ssize_t)k;
}

size_t
conn_buffered(const struct conn *c)
{
	return c->in_end - c->in_start;
}

/* Input is there now (buffered, or ready below); never waits. */
static int
conn_input_ready(struct conn *c)
{
	struct err ignore;

	return conn_buffered(c) > 0 ||
	    transport_wait(c->t, TRANSPORT_IN, TRANSPORT_POLL, &ignore) > 0;
}

static int
conn_early_input(struct conn *c, struct err *e)
{
	c->early = 1;
	return err_set(e, ERR_TEMP, "%s replied before the end of the data",
	    conn_name(c));
}

/* Writes p straight down the stack, waiting within the stage. */
static int
conn_send(struct conn *c, const void *p, size_t n, struct err *e)
{
	const unsigned char *s = p;
	ssize_t r;
	int w;

	if (c->t == NULL)
		return err_set(e, ERR_SOFTWARE,
		    "write to a closed connection");
	if (c->watch && conn_input_ready(c))
		return conn_early_input(c, e);
	while (n > 0) {
		r = transport_write(c->t, s, n, e);
		if (r > 0) {
			s += r;
			n -= (size_t)r;
			continue;
		}
		if (r != TRANSPORT_AGAIN)
			return -1;
		w = conn_wait(c, TRANSPORT_OUT |
		    (c->watch ? TRANSPORT_IN : 0), e);
		if (w == -1)
			return -1;
		if (c->watch && (w & TRANSPORT_IN))
			return conn_early_input(c, e);
	}
	return 0;
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
	transport_close(c->t);
	c->t = NULL;
	c->tls = NULL;
	c->fd = -1;
	if (c->out != NULL) {
		wipe(c->out, c->out_cap);
		free(c->out);
	}
	c->out = NULL;
	c->out_len = 0;
	c->out_cap = 0;
	c->out_secret = 0;
	free(c->host);
	c->host = NULL;
	free(c->peer);
	c->peer = NULL;
	c->in_start = 0;
	c->in_end = 0;
	c->watch = 0;
	c->early = 0;
}
