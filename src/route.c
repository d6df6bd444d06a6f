/*
 * route owns the identity of a route.  The digest is computed from a
 * table of fields, each a name and a function giving its value for an
 * account, so that what else comes to decide a route (a SOCKS proxy, a
 * local socket) is one row more; fallback accounts add the digest of
 * each one's rows, in order.  A field without a value
 * still counts (as absent), so that setting it changes the route.
 * Passwords are not part of a route: a corrected password must not leave
 * the mail queued under the old one behind.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "route.h"
#include "util/alloc.h"
#include "util/buf.h"

/* ----------------------------------------------------------- fields */

typedef const char *(*route_value_fn)(const struct account *, char *, size_t);

static const char *
f_host(const struct account *a, char *tmp, size_t n)
{
	(void)tmp;
	(void)n;
	return a->host;
}

static const char *
f_port(const struct account *a, char *tmp, size_t n)
{
	snprintf(tmp, n, "%d", conf_port(a));
	return tmp;
}

static const char *
f_tls(const struct account *a, char *tmp, size_t n)
{
	(void)tmp;
	(void)n;
	if (!a->tls)
		return "off";
	return a->tls_starttls ? "starttls" : "implicit";
}

static const char *
f_user(const struct account *a, char *tmp, size_t n)
{
	(void)tmp;
	(void)n;
	return a->auth ? a->user : NULL;
}

static const char *
f_auth(const struct account *a, char *tmp, size_t n)
{
	(void)tmp;
	(void)n;
	if (!a->auth)
		return "off";
	return a->auth_mech != NULL ? a->auth_mech : "on";
}

static const char *
f_cert(const struct account *a, char *tmp, size_t n)
{
	(void)tmp;
	(void)n;
	return a->tls_cert_file;
}

static const char *
f_key(const struct account *a, char *tmp, size_t n)
{
	(void)tmp;
	(void)n;
	return a->tls_key_file;
}

static const char *
f_socket(const struct account *a, char *tmp, size_t n)
{
	(void)tmp;
	(void)n;
	return a->socket;
}

static const char *
f_proxy(const struct account *a, char *tmp, size_t n)
{
	(void)tmp;
	(void)n;
	return a->socket == NULL ? a->proxy_host : NULL;
}

static const char *
f_proxy_port(const struct account *a, char *tmp, size_t n)
{
	if (a->proxy_host == NULL)
		return NULL;
	snprintf(tmp, n, "%d", a->proxy_port > 0 ? a->proxy_port : 1080);
	return tmp;
}

static const char *
f_proxy_user(const struct account *a, char *tmp, size_t n)
{
	(void)tmp;
	(void)n;
	return a->proxy_host != NULL ? a->proxy_user : NULL;
}

static const char *
f_protocol(const struct account *a, char *tmp, size_t n)
{
	(void)tmp;
	(void)n;
	return a->protocol == PROTO_LMTP ? "lmtp" : NULL;
}

/*
 * What decides where and as whom.  Append rows; never reorder or rename
 * them (queued messages carry digests of this table).  A row added
 * later (optional) adds nothing while it has no value, so that the
 * digest of a route that does not use it stays what it was and queued
 * mail keeps its route across an upgrade.
 */
static const struct {
	const char	*name;
	route_value_fn	 value;
	int		 optional;
} fields[] = {
	{ "host",		f_host, 0 },
	{ "port",		f_port, 0 },
	{ "tls",		f_tls, 0 },
	{ "user",		f_user, 0 },
	{ "auth",		f_auth, 0 },
	{ "tls_cert_file",	f_cert, 0 },
	{ "tls_key_file",	f_key, 0 },
	/* Issue 12: a socket, a SOCKS5 proxy, LMTP. */
	{ "socket",		f_socket, 1 },
	{ "proxy_host",		f_proxy, 1 },
	{ "proxy_port",		f_proxy_port, 1 },
	{ "proxy_user",		f_proxy_user, 1 },
	{ "protocol",		f_protocol, 1 },
};

/* The table's rows for a, into b. */
static void
route_rows(const struct account *a, struct buf *b)
{
	char tmp[64];
	const char *v;
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		v = fields[i].value(a, tmp, sizeof(tmp));
		if (v == NULL && fields[i].optional)
			continue;
		if (v == NULL)
			buf_printf(b, "%s-\n", fields[i].name);
		else
			buf_printf(b, "%s=%zu:%s\n", fields[i].name,
			    strlen(v), v);
	}
}

static void
route_hex(const uint8_t d[32], char out[ROUTE_DIGEST_LEN])
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[64] = '\0';
}

void
route_digest(const struct account *a, char out[ROUTE_DIGEST_LEN])
{
	struct buf b, fb;
	char sub[ROUTE_DIGEST_LEN];
	uint8_t d[32];
	size_t i;

	buf_init(&b, 0);
	route_rows(a, &b);
	/* Fallback routes (issue 12), in order: each one's own rows. */
	for (i = 0; i < a->nfallback; i++) {
		buf_init(&fb, 0);
		route_rows(a->fallback_to[i], &fb);
		route_sha256(fb.data, fb.len, d);
		buf_release(&fb);
		route_hex(d, sub);
		buf_printf(&b, "fallback=%zu:%s\n", strlen(sub), sub);
	}
	route_sha256(b.data, b.len, d);
	buf_release(&b);
	route_hex(d, out);
}

/* One route, without its fallbacks. */
static char *
route_describe_one(const struct account *a)
{
	struct buf b;

	buf_init(&b, 0);
	if (a->socket != NULL)
		buf_printf(&b, "socket %s (%s)", a->socket, !a->tls ?
		    "no TLS" : a->tls_starttls ? "STARTTLS" : "TLS");
	else
		buf_printf(&b, "%s:%d (%s)", a->host ? a->host : "(no host)",
		    conf_port(a), !a->tls ? "no TLS" : a->tls_starttls ?
		    "STARTTLS" : "TLS");
	if (a->protocol == PROTO_LMTP)
		buf_adds(&b, ", LMTP");
	if (a->socket == NULL && a->proxy_host != NULL)
		buf_printf(&b, ", via SOCKS5 proxy %s:%d", a->proxy_host,
		    a->proxy_port > 0 ? a->proxy_port : 1080);
	if (a->auth)
		buf_printf(&b, ", user %s, auth %s", a->user ? a->user : "-",
		    a->auth_mech ? a->auth_mech : "any");
	if (a->tls_cert_file != NULL)
		buf_printf(&b, ", certificate %s", a->tls_cert_file);
	return buf_detach(&b);
}

char *
route_describe(const struct account *a)
{
	struct buf b;
	char *one;
	size_t i;

	one = route_describe_one(a);
	if (a->nfallback == 0)
		return one;
	buf_init(&b, 0);
	buf_adds(&b, one);
	free(one);
	for (i = 0; i < a->nfallback; i++) {
		one = route_describe_one(a->fallback_to[i]);
		buf_printf(&b, "; fallback %s", one);
		free(one);
	}
	return buf_detach(&b);
}

/* ---------------------------------------------------------- SHA-256 */

static const uint32_t k256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b,
	0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01,
	0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7,
	0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
	0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152,
	0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
	0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08,
	0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
	0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n)	(((x) >> (n)) | ((x) << (32 - (n))))

static void
block(uint32_t h[8], const uint8_t p[64])
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = w[i - 16] + (ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^
		    (w[i - 15] >> 3)) + w[i - 7] + (ROR(w[i - 2], 17) ^
		    ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
	a = h[0]; b = h[1]; c = h[2]; d = h[3];
	e = h[4]; f = h[5]; g = h[6]; hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) +
		    ((e & f) ^ (~e & g)) + k256[i] + w[i];
		t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) +
		    ((a & b) ^ (a & c) ^ (b & c));
		hh = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	h[0] += a; h[1] += b; h[2] += c; h[3] += d;
	h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void
route_sha256(const void *data, size_t n, uint8_t out[32])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const uint8_t *p = data;
	uint8_t last[128];
	uint64_t bits = (uint64_t)n * 8;
	size_t rest, pad, i;

	for (; n >= 64; n -= 64, p += 64)
		block(h, p);
	rest = n;
	memset(last, 0, sizeof(last));
	if (rest > 0)
		memcpy(last, p, rest);
	last[rest] = 0x80;
	pad = rest < 56 ? 64 : 128;
	for (i = 0; i < 8; i++)
		last[pad - 1 - i] = (uint8_t)(bits >> (8 * i));
	block(h, last);
	if (pad == 128)
		block(h, last + 64);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(h[i] >> 8);
		out[4 * i + 3] = (uint8_t)h[i];
	}
}
