/*
 * http owns the HTTPS exchanges with OAuth2 endpoints: the URL split, the
 * request (written through a wiping buffer, since a form carries client
 * secrets and refresh tokens), and the response parser, a push state
 * machine that never holds more than one capped line or the capped body.
 * The network part is conn_dial with TLS from the first byte, one stage
 * for the whole exchange, and Connection: close.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "http.h"
#include "net.h"
#include "tls.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/str.h"

enum {
	HS_STATUS, HS_HEADER, HS_BODY, HS_CHUNK_SIZE, HS_CHUNK_DATA,
	HS_CHUNK_END, HS_TRAILER, HS_EOF_BODY, HS_DONE
};

void
http_resp_init(struct http_resp *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->state = HS_STATUS;
	r->clen = -1;
	buf_init(&r->line, HTTP_LINE_MAX);
	buf_init_secret(&r->body, max > 0 ? max : HTTP_BODY_MAX);
}

void
http_resp_release(struct http_resp *r)
{
	buf_wipe(&r->line);
	buf_wipe(&r->body);
}

static int
bad(struct err *e, const char *what)
{
	return err_set(e, ERR_PROTOCOL, "malformed HTTP response: %s", what);
}

/* "HTTP/1.x NNN reason" */
static int
status_line(struct http_resp *r, const char *s, struct err *e)
{
	if (strncmp(s, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)s[7]) ||
	    s[8] != ' ' || !isdigit((unsigned char)s[9]) ||
	    !isdigit((unsigned char)s[10]) ||
	    !isdigit((unsigned char)s[11]) ||
	    (s[12] != ' ' && s[12] != '\0'))
		return bad(e, "status line");
	r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
	if (r->status < 100 || r->status > 599)
		return bad(e, "status code");
	return 0;
}

/* A decimal Content-Length, digits only. */
static int
parse_length(const char *v, long long *out)
{
	long long n = 0;

	if (*v == '\0')
		return -1;
	for (; *v != '\0'; v++) {
		if (!isdigit((unsigned char)*v) || n > (LLONG_MAX - 9) / 10)
			return -1;
		n = n * 10 + (*v - '0');
	}
	*out = n;
	return 0;
}

static int
header_line(struct http_resp *r, char *s, struct err *e)
{
	char *colon, *v, *end;
	long long n;
	size_t i;

	if (*s == ' ' || *s == '\t')
		return bad(e, "folded header field");
	if ((colon = strchr(s, ':')) == NULL || colon == s)
		return bad(e, "header field without a name");
	*colon = '\0';
	for (i = 0; s[i] != '\0'; i++)
		if (!isgraph((unsigned char)s[i]))
			return bad(e, "header field name");
	v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	end = v + strlen(v);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strcasecmp(s, "Content-Length") == 0) {
		if (parse_length(v, &n) == -1 || (r->clen != -1 &&
		    r->clen != n))
			return bad(e, "Content-Length");
		r->clen = n;
	} else if (strcasecmp(s, "Transfer-Encoding") == 0) {
		if (strcasecmp(v, "chunked") != 0)
			return bad(e, "unsupported Transfer-Encoding");
		r->chunked = 1;
	} else if (strcasecmp(s, "Content-Type") == 0) {
		i = strcspn(v, "; \t");
		if (i >= sizeof(r->ctype))
			i = sizeof(r->ctype) - 1;
		memcpy(r->ctype, v, i);
		r->ctype[i] = '\0';
		str_lower(r->ctype);
	}
	return 0;
}

/* The empty line after the fields: how is the body framed? */
static int
headers_end(struct http_resp *r, struct err *e)
{
	if (r->status < 200) {
		/* 1xx: an interim response; the real one follows. */
		r->state = HS_STATUS;
		r->clen = -1;
		r->chunked = 0;
		r->ctype[0] = '\0';
		return 0;
	}
	if (r->chunked) {
		r->clen = -1;
		r->state = HS_CHUNK_SIZE;
		return 0;
	}
	if (r->status == 204 || r->status == 304 || r->clen == 0) {
		r->state = HS_DONE;
		return 1;
	}
	if (r->clen > 0) {
		if ((unsigned long long)r->clen > r->body.max)
			return bad(e, "body too large");
		r->state = HS_BODY;
		return 0;
	}
	r->state = HS_EOF_BODY;
	return 0;
}

static int
chunk_size(struct http_resp *r, const char *s, struct err *e)
{
	unsigned long long n = 0;
	int v, digits = 0;

	for (; (v = str_hexval((unsigned char)*s)) >= 0; s++, digits++) {
		if (n > (ULLONG_MAX >> 4))
			return bad(e, "chunk size");
		n = (n << 4) | (unsigned)v;
	}
	if (digits == 0 || (*s != '\0' && *s != ';' && *s != ' ' &&
	    *s != '\t'))
		return bad(e, "chunk size");
	if (n > r->body.max - r->body.len)
		return bad(e, "body too large");
	r->chunk_left = n;
	r->state = n == 0 ? HS_TRAILER : HS_CHUNK_DATA;
	return 0;
}

/* A complete line (without its ending) in the current state. */
static int
line_done(struct http_resp *r, struct err *e)
{
	char *s = r->line.data != NULL ? r->line.data : "";
	size_t i;

	for (i = 0; i < r->line.len; i++)
		if (s[i] == '\0')
			return bad(e, "NUL in a line");
	switch (r->state) {
	case HS_STATUS:
		return status_line(r, s, e) == -1 ? -1 : (r->state =
		    HS_HEADER, 0);
	case HS_HEADER:
		if (r->line.len == 0)
			return headers_end(r, e);
		return header_line(r, s, e);
	case HS_CHUNK_SIZE:
		return chunk_size(r, s, e);
	case HS_CHUNK_END:
		if (r->line.len != 0)
			return bad(e, "chunk not ended by a line break");
		r->state = HS_CHUNK_SIZE;
		return 0;
	case HS_TRAILER:
		if (r->line.len == 0) {
			r->state = HS_DONE;
			return 1;
		}
		return 0;
	}
	return bad(e, "state");
}

/* Takes bytes of a line; *used how many. -1, 0, or 1 (complete). */
static int
push_line(struct http_resp *r, const char *p, size_t n, size_t *used,
    struct err *e)
{
	const char *nl = memchr(p, '\n', n);
	size_t take = nl != NULL ? (size_t)(nl - p) : n;
	int rv;

	*used = nl != NULL ? take + 1 : take;
	r->hdr_bytes += *used;
	if (r->hdr_bytes > HTTP_HEADER_MAX)
		return bad(e, "header too large");
	if (buf_add(&r->line, p, take) == -1)
		return bad(e, "line too long");
	if (nl == NULL)
		return 0;
	if (r->line.len > 0 && r->line.data[r->line.len - 1] == '\r')
		buf_truncate(&r->line, r->line.len - 1);
	rv = line_done(r, e);
	buf_reset(&r->line);
	return rv;
}

/* Takes body bytes (framed by want: the bytes left, or all). */
static int
push_body(struct http_resp *r, const char *p, size_t n, size_t *used,
    unsigned long long want, struct err *e)
{
	size_t take = n;

	if ((unsigned long long)take > want)
		take = (size_t)want;
	if (buf_add(&r->body, p, take) == -1)
		return bad(e, "body too large");
	*used = take;
	return 0;
}

int
http_resp_push(struct http_resp *r, const void *vp, size_t n, struct err *e)
{
	const char *p = vp;
	size_t used;
	int rv;

	while (n > 0 || r->state == HS_DONE) {
		used = 0;
		switch (r->state) {
		case HS_DONE:
			return 1;
		case HS_BODY:
			rv = push_body(r, p, n, &used,
			    (unsigned long long)r->clen - r->body.len, e);
			if (rv == 0 && r->body.len == (size_t)r->clen) {
				r->state = HS_DONE;
				rv = 1;
			}
			break;
		case HS_CHUNK_DATA:
			rv = push_body(r, p, n, &used, r->chunk_left, e);
			r->chunk_left -= used;
			if (rv == 0 && r->chunk_left == 0)
				r->state = HS_CHUNK_END;
			break;
		case HS_EOF_BODY:
			rv = push_body(r, p, n, &used, n, e);
			break;
		default:
			rv = push_line(r, p, n, &used, e);
			break;
		}
		if (rv != 0)
			return rv;
		p += used;
		n -= used;
	}
	return 0;
}

int
http_resp_eof(struct http_resp *r, struct err *e)
{
	if (r->state == HS_DONE)
		return 1;
	if (r->state == HS_EOF_BODY) {
		r->state = HS_DONE;
		return 1;
	}
	return err_set(e, ERR_TEMP, "the HTTP response was cut short");
}

int
http_url_parse(const char *url, char **host, int *port, char **path,
    struct err *e)
{
	const char *h, *end, *slash, *colon;
	long v;
	char *ep;

	*host = *path = NULL;
	if (str_has_ctl(url) || strchr(url, ' ') != NULL)
		return err_set(e, ERR_CONFIG, "bad URL (control characters "
		    "or spaces)");
	if (strncasecmp(url, "https://", 8) != 0)
		return err_set(e, ERR_CONFIG, "URL '%s' is not https", url);
	h = url + 8;
	slash = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(slash - h)) != NULL)
		return err_set(e, ERR_CONFIG, "URL '%s' has user information",
		    url);
	end = slash;
	*port = 443;
	if (*h == '[') {
		colon = memchr(h, ']', (size_t)(end - h));
		if (colon == NULL)
			return err_set(e, ERR_CONFIG, "bad URL '%s'", url);
		*host = xasprintf("%.*s", (int)(colon - h - 1), h + 1);
		colon++;
		if (colon != end && *colon != ':') {
			free(*host);
			*host = NULL;
			return err_set(e, ERR_CONFIG, "bad URL '%s'", url);
		}
		if (colon == end)
			colon = NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		*host = xasprintf("%.*s", (int)((colon != NULL ? colon : end) -
		    h), h);
	}
	if (colon != NULL) {
		errno = 0;
		v = strtol(colon + 1, &ep, 10);
		if (ep != end || colon + 1 == end || v < 1 || v > 65535) {
			free(*host);
			*host = NULL;
			return err_set(e, ERR_CONFIG, "bad port in URL '%s'",
			    url);
		}
		*port = (int)v;
	}
	if ((*host)[0] == '\0') {
		free(*host);
		*host = NULL;
		return err_set(e, ERR_CONFIG, "no host in URL '%s'", url);
	}
	if (*slash == '#')
		slash = "";
	*path = *slash == '/' ? xstrdup(slash) : xasprintf("/%s", slash);
	(*path)[strcspn(*path, "#")] = '\0';
	return 0;
}

int
http_form_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (isalnum(c) || c == '-' || c == '.' || c == '_' ||
		    c == '~') {
			if (buf_addc(b, c) == -1)
				return -1;
		} else if (c == ' ') {
			if (buf_addc(b, '+') == -1)
				return -1;
		} else if (buf_addc(b, '%') == -1 ||
		    buf_addc(b, hex[c >> 4]) == -1 ||
		    buf_addc(b, hex[c & 15]) == -1)
			return -1;
	}
	return 0;
}

/* The request head and body, into a wiping buffer. */
static int
build_request(struct buf *req, const char *host, int port, const char *path,
    const char *form)
{
	int v6 = strchr(host, ':') != NULL, rv;

	rv = buf_printf(req, "%s %s HTTP/1.1\r\nHost: %s%s%s", form != NULL ?
	    "POST" : "GET", path, v6 ? "[" : "", host, v6 ? "]" : "");
	if (rv == 0 && port != 443)
		rv = buf_printf(req, ":%d", port);
	if (rv == 0)
		rv = buf_adds(req, "\r\nUser-Agent: posthorn/" PACKAGE_VERSION
		    "\r\nAccept: application/json\r\nConnection: close\r\n");
	if (rv == 0 && form != NULL)
		rv = buf_printf(req, "Content-Type: application/"
		    "x-www-form-urlencoded\r\nContent-Length: %zu\r\n",
		    strlen(form));
	if (rv == 0)
		rv = buf_adds(req, "\r\n");
	if (rv == 0 && form != NULL)
		rv = buf_adds(req, form);
	return rv;
}

/* Reads until the response is complete. */
static int
read_response(struct conn *c, struct http_resp *r, struct err *e)
{
	unsigned char chunk[4096];
	ssize_t got;
	int rv;

	for (;;) {
		got = conn_read(c, chunk, sizeof(chunk), e);
		if (got < 0)
			return -1;
		if (got == 0)
			rv = http_resp_eof(r, e);
		else
			rv = http_resp_push(r, chunk, (size_t)got, e);
		explicit_bzero(chunk, sizeof(chunk));
		if (rv != 0)
			return rv == 1 ? 0 : -1;
	}
}

int
http_request(const char *url, const char *form, const struct http_opts *o,
    struct http_resp *r, struct err *e)
{
	struct conn c;
	struct conn_dial d;
	struct tls_params tp;
	struct buf req;
	char *host, *path;
	int port, rv = -1;

	http_resp_init(r, o->max);
	if (http_url_parse(url, &host, &port, &path, e) == -1)
		return -1;
	memset(&tp, 0, sizeof(tp));
	if (o->tls != NULL)
		tp = *o->tls;
	tp.host = host;
	tp.fingerprint = NULL;
	tp.fingerprint_len = 0;
	tp.cert_file = tp.key_file = NULL;
	if (tp.timeout == 0)
		tp.timeout = o->timeout;
	memset(&d, 0, sizeof(d));
	d.host = host;
	d.port = port;
	d.source_ip = o->source_ip;
	d.connect_timeout = o->connect_timeout;
	d.proxy_host = o->proxy_host;
	d.proxy_port = o->proxy_port;
	d.proxy_user = o->proxy_user;
	d.proxy_password = o->proxy_password;
	d.tls = &tp;
	buf_init_secret(&req, 0);
	conn_init(&c);
	conn_session(&c, o->timeout);
	if (conn_dial(&c, &d, e) == -1)
		goto done;
	if (build_request(&req, host, port, path, form) == -1) {
		err_set(e, ERR_SOFTWARE, "HTTP request too large");
		goto done;
	}
	if (conn_stage(&c, o->timeout, "for the HTTP response", e) == -1 ||
	    conn_write_secret(&c, req.data, req.len, e) == -1 ||
	    conn_flush(&c, e) == -1 || read_response(&c, r, e) == -1)
		goto done;
	rv = 0;
done:
	if (rv == -1)
		err_prefix(e, "%s: ", host);
	conn_close(&c);
	buf_wipe(&req);
	free(host);
	free(path);
	return rv;
}
