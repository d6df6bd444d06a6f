/*
 * socks owns the SOCKS5 client: the greeting (methods "none", and
 * user/password when a user is configured), RFC 1929's sub-negotiation,
 * the CONNECT request for the target by name, and a layer that passes
 * bytes through afterwards.  The handshake reads exactly the bytes each
 * reply has (its length is known from its first five), so that whatever
 * the server behind the proxy says first (an SMTP greeting) stays in the
 * stream for the layers above.  The password is put on the wire from a
 * buffer that is wiped right after, and appears in no message.
 */
#include "config.h"

#include <sys/types.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "socks.h"
#include "transport.h"
#include "util/alloc.h"

#define SOCKS_VER	5
#define SOCKS_M_NONE	0x00
#define SOCKS_M_USERPW	0x02
#define SOCKS_M_NOPE	0xFF
#define SOCKS_CMD_CONN	1
#define SOCKS_AT_IPV4	1
#define SOCKS_AT_NAME	3
#define SOCKS_AT_IPV6	4

/* RFC 1928 section 6's reasons. */
static const char *const socks_reasons[] = {
	"succeeded",
	"general SOCKS server failure",
	"connection not allowed by ruleset",
	"network unreachable",
	"host unreachable",
	"connection refused",
	"TTL expired",
	"command not supported",
	"address type not supported",
};

/* ----------------------------------------------------------- parsing */

int
socks_method_reply(const unsigned char *p, size_t n, int offered_auth,
    const char *proxy, struct err *e)
{
	if (n != 2 || p[0] != SOCKS_VER)
		return err_set(e, ERR_PROTOCOL, "proxy %s does not speak "
		    "SOCKS5", proxy);
	if (p[1] == SOCKS_M_NONE)
		return 0;
	if (p[1] == SOCKS_M_USERPW && offered_auth)
		return 2;
	if (p[1] == SOCKS_M_NOPE)
		return err_set(e, offered_auth ? ERR_NOPERM : ERR_CONFIG,
		    "proxy %s accepts none of the authentication methods "
		    "offered (%s)", proxy, offered_auth ? "none, "
		    "user/password" : "none; set proxy_user and "
		    "proxy_password");
	return err_set(e, ERR_PROTOCOL, "proxy %s chose authentication "
	    "method %u, which was not offered", proxy, p[1]);
}

int
socks_auth_reply(const unsigned char *p, size_t n, const char *proxy,
    struct err *e)
{
	/* RFC 1929 says version 1; some proxies answer with 5. */
	if (n != 2 || (p[0] != 1 && p[0] != SOCKS_VER))
		return err_set(e, ERR_PROTOCOL, "proxy %s sent a malformed "
		    "reply to user/password authentication", proxy);
	if (p[1] != 0)
		return err_set(e, ERR_NOPERM, "proxy %s refused the user "
		    "name and password (proxy_user, proxy_password)", proxy);
	return 0;
}

ssize_t
socks_connect_reply_len(const unsigned char *p, size_t n, const char *proxy,
    struct err *e)
{
	if (n >= 1 && p[0] != SOCKS_VER)
		return err_set(e, ERR_PROTOCOL, "proxy %s does not speak "
		    "SOCKS5", proxy);
	if (n >= 3 && p[2] != 0)
		return err_set(e, ERR_PROTOCOL, "proxy %s sent a malformed "
		    "reply to CONNECT", proxy);
	if (n < 5)
		return 0;
	switch (p[3]) {
	case SOCKS_AT_IPV4:
		return 4 + 4 + 2;
	case SOCKS_AT_IPV6:
		return 4 + 16 + 2;
	case SOCKS_AT_NAME:
		return 4 + 1 + (ssize_t)p[4] + 2;
	default:
		return err_set(e, ERR_PROTOCOL, "proxy %s sent a reply to "
		    "CONNECT with address type %u", proxy, p[3]);
	}
}

int
socks_connect_reply(const unsigned char *p, size_t n, const char *proxy,
    const char *host, int port, struct err *e)
{
	ssize_t len;
	unsigned rep;

	len = socks_connect_reply_len(p, n, proxy, e);
	if (len == -1)
		return -1;
	if (len == 0 || (size_t)len != n)
		return err_set(e, ERR_PROTOCOL, "proxy %s sent a truncated "
		    "reply to CONNECT", proxy);
	rep = p[1];
	if (rep == 0)
		return 0;
	/*
	 * 7 and 8: this proxy cannot do what posthorn asks (CONNECT, or
	 * a name for the proxy to resolve); retrying will not help.
	 */
	return err_set(e, rep == 7 || rep == 8 ? ERR_UNAVAILABLE : ERR_TEMP,
	    "proxy %s cannot connect to %s port %d: %s", proxy, host, port,
	    rep < sizeof(socks_reasons) / sizeof(socks_reasons[0]) ?
	    socks_reasons[rep] : "unknown reason");
}

/* ------------------------------------------------------------------ I/O */

/* Writes n bytes to t by deadline.  0 or -1. */
static int
socks_send(struct transport *t, const unsigned char *p, size_t n,
    long long deadline, const char *proxy, struct err *e)
{
	ssize_t r;
	int w;

	while (n > 0) {
		r = transport_write(t, p, n, e);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r != TRANSPORT_AGAIN)
			return -1;
		w = transport_wait(t, TRANSPORT_OUT, deadline, e);
		if (w == -1)
			return -1;
		if (w == 0)
			return err_set(e, ERR_TEMP, "timed out talking to "
			    "proxy %s", proxy);
	}
	return 0;
}

/* Reads exactly n bytes from t by deadline.  0 or -1. */
static int
socks_recv(struct transport *t, unsigned char *p, size_t n,
    long long deadline, const char *proxy, struct err *e)
{
	ssize_t r;
	int w;

	while (n > 0) {
		r = transport_read(t, p, n, e);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0)
			return err_set(e, ERR_TEMP, "proxy %s closed the "
			    "connection during the SOCKS5 handshake", proxy);
		if (r != TRANSPORT_AGAIN)
			return -1;
		w = transport_wait(t, TRANSPORT_IN, deadline, e);
		if (w == -1)
			return -1;
		if (w == 0)
			return err_set(e, ERR_TEMP, "timed out waiting for "
			    "proxy %s", proxy);
	}
	return 0;
}

/* RFC 1929: version 1, user, password.  0 or -1. */
static int
socks_userpw(struct transport *t, const struct socks_params *p,
    long long deadline, struct err *e)
{
	unsigned char msg[3 + 255 + 255], rep[2];
	size_t ul = strlen(p->user);
	size_t pl = p->password != NULL ? strlen(p->password) : 0;
	int r;

	msg[0] = 1;
	msg[1] = (unsigned char)ul;
	memcpy(msg + 2, p->user, ul);
	msg[2 + ul] = (unsigned char)pl;
	if (pl > 0)
		memcpy(msg + 3 + ul, p->password, pl);
	r = socks_send(t, msg, 3 + ul + pl, deadline, p->proxy, e);
	wipe(msg, sizeof(msg));
	if (r == -1 || socks_recv(t, rep, 2, deadline, p->proxy, e) == -1)
		return -1;
	return socks_auth_reply(rep, 2, p->proxy, e);
}

/* The CONNECT request for p's target into out; its length. */
static size_t
socks_request(const struct socks_params *p, unsigned char out[4 + 256 + 2])
{
	struct in_addr a4;
	struct in6_addr a6;
	size_t n = 4, hl;

	out[0] = SOCKS_VER;
	out[1] = SOCKS_CMD_CONN;
	out[2] = 0;
	if (inet_pton(AF_INET, p->host, &a4) == 1) {
		out[3] = SOCKS_AT_IPV4;
		memcpy(out + n, &a4, 4);
		n += 4;
	} else if (inet_pton(AF_INET6, p->host, &a6) == 1) {
		out[3] = SOCKS_AT_IPV6;
		memcpy(out + n, &a6, 16);
		n += 16;
	} else {
		/* The proxy resolves the name (socks5h). */
		hl = strlen(p->host);
		out[3] = SOCKS_AT_NAME;
		out[n++] = (unsigned char)hl;
		memcpy(out + n, p->host, hl);
		n += hl;
	}
	out[n++] = (unsigned char)(p->port >> 8);
	out[n++] = (unsigned char)(p->port & 0xff);
	return n;
}

static int
socks_handshake(struct transport *t, const struct socks_params *p,
    long long deadline, struct err *e)
{
	unsigned char req[4 + 256 + 2], rep[4 + 1 + 255 + 2];
	int auth = p->user != NULL, m;
	ssize_t len;
	size_t n;

	if (strlen(p->host) > 255)
		return err_set(e, ERR_CONFIG, "host name '%.60s...' is too "
		    "long for a SOCKS5 proxy (at most 255 bytes)", p->host);
	if (auth && (strlen(p->user) > 255 || (p->password != NULL &&
	    strlen(p->password) > 255)))
		return err_set(e, ERR_CONFIG, "proxy_user or proxy_password "
		    "is longer than SOCKS5 allows (255 bytes)");
	if (p->port < 1 || p->port > 65535)
		return err_set(e, ERR_CONFIG, "invalid port %d for host '%s'",
		    p->port, p->host);

	/* The greeting: version, methods. */
	req[0] = SOCKS_VER;
	req[1] = auth ? 2 : 1;
	req[2] = SOCKS_M_NONE;
	req[3] = SOCKS_M_USERPW;
	if (socks_send(t, req, auth ? 4 : 3, deadline, p->proxy, e) == -1 ||
	    socks_recv(t, rep, 2, deadline, p->proxy, e) == -1)
		return -1;
	if ((m = socks_method_reply(rep, 2, auth, p->proxy, e)) == -1)
		return -1;
	if (m == 2 && socks_userpw(t, p, deadline, e) == -1)
		return -1;

	n = socks_request(p, req);
	if (socks_send(t, req, n, deadline, p->proxy, e) == -1 ||
	    socks_recv(t, rep, 5, deadline, p->proxy, e) == -1)
		return -1;
	if ((len = socks_connect_reply_len(rep, 5, p->proxy, e)) == -1)
		return -1;
	if (socks_recv(t, rep + 5, (size_t)len - 5, deadline, p->proxy,
	    e) == -1)
		return -1;
	return socks_connect_reply(rep, (size_t)len, p->proxy, p->host,
	    p->port, e);
}

/* -------------------------------------------------------------- layer */

static ssize_t
socks_read(struct transport *t, void *p, size_t n, struct err *e)
{
	return transport_read(t->below, p, n, e);
}

static ssize_t
socks_write(struct transport *t, const void *p, size_t n, struct err *e)
{
	return transport_write(t->below, p, n, e);
}

static int
socks_wait(struct transport *t, int want, long long deadline, struct err *e)
{
	return transport_wait(t->below, want, deadline, e);
}

static void
socks_free(struct transport *t)
{
	free(t);
}

static const struct transport_ops socks_ops = {
	socks_read, socks_write, socks_wait, socks_free
};

struct transport *
socks_connect(struct transport *below, const struct socks_params *p,
    long long deadline, struct err *e)
{
	struct transport *t;
	char *peer;

	if (socks_handshake(below, p, deadline, e) == -1) {
		transport_close(below);
		return NULL;
	}
	t = xcalloc(1, sizeof(*t));
	transport_layer(t, &socks_ops, below);
	/* Messages name the target; the peer says how it was reached. */
	peer = xasprintf("via proxy %s (%s)", p->proxy, t->peer);
	free(t->label);
	free(t->peer);
	t->label = xstrdup(p->host);
	t->peer = peer;
	return t;
}
