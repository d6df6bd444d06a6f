/*
 * http: a small HTTPS/1.1 client for the OAuth2 endpoints (token, device
 * authorization, revocation).  One request per connection (Connection:
 * close), over the same conn and TLS layer as SMTP, with the same
 * certificate checks and deadlines; https only.  The response parser is
 * pure (push bytes, get a complete response): status line, header fields,
 * a body framed by Content-Length, chunked transfer coding, or the end of
 * the stream; every part is capped, the body at the caller's maximum.
 */
#ifndef POSTHORN_HTTP_H
#define POSTHORN_HTTP_H

#include <stddef.h>

#include "util/buf.h"

struct err;
struct tls_params;

#define HTTP_LINE_MAX		8192		/* status line, one field */
#define HTTP_HEADER_MAX		(64 * 1024)	/* all fields together */
#define HTTP_BODY_MAX		(1024 * 1024)	/* default body cap */

/* The parser's state; fields read by the caller are marked. */
struct http_resp {
	int		 state;
	int		 status;	/* caller: 200, 400, ... */
	char		 ctype[128];	/* caller: Content-Type, lower case,
					   parameters cut; "" none */
	long long	 clen;		/* Content-Length; -1 none */
	int		 chunked;
	unsigned long long chunk_left;
	size_t		 hdr_bytes;
	struct buf	 line;		/* the line being assembled */
	struct buf	 body;		/* caller: the body (secret: it may
					   hold tokens) */
};

/* A parser for one response whose body may be at most max bytes. */
void	 http_resp_init(struct http_resp *r, size_t max);
/* Frees and wipes what r holds. */
void	 http_resp_release(struct http_resp *r);

/*
 * Feeds n bytes.  1 once the response is complete (bytes after it are
 * ignored), 0 for more, -1 with e ERR_PROTOCOL for a malformed or
 * oversized response.
 */
int	 http_resp_push(struct http_resp *r, const void *p, size_t n,
	    struct err *e);

/*
 * The stream ended: 1 when that completes the response (a body framed
 * by the end of the stream), else -1 with e ERR_TEMP (cut short).
 */
int	 http_resp_eof(struct http_resp *r, struct err *e);

/*
 * Splits an https URL into host, port (443 by default) and path with
 * query ("/" when empty); the caller frees host and path.  A URL that is
 * not https, or has user info, a bad port or control characters, is
 * ERR_CONFIG.  0 or -1.
 */
int	 http_url_parse(const char *url, char **host, int *port,
	    char **path, struct err *e);

/* How to reach the endpoints. */
struct http_opts {
	const struct tls_params *tls;	/* trust file, CRL, priorities,
					   certcheck; host is taken from
					   the URL */
	const char	*source_ip;
	int		 connect_timeout;	/* seconds, 0 none */
	int		 timeout;		/* seconds for the whole
						   exchange, 0 none */
	size_t		 max;			/* body cap; 0 HTTP_BODY_MAX */
	const char	*proxy_host;	/* SOCKS5, as for SMTP; NULL none */
	int		 proxy_port;
	const char	*proxy_user;
	const char	*proxy_password;
};

/*
 * POSTs form (application/x-www-form-urlencoded; NULL: a GET) to url and
 * reads the complete response into r (initialised here; the caller
 * releases it).  The form may hold secrets: it is sent from a wiping
 * buffer and never appears in errors.  A connection or TLS failure, a
 * timeout or a cut response is ERR_TEMP; a malformed response
 * ERR_PROTOCOL; an untrusted certificate as tls.c says.  Any status is
 * success here: the caller judges it.  0 or -1.
 */
int	 http_request(const char *url, const char *form,
	    const struct http_opts *o, struct http_resp *r, struct err *e);

/* Appends s to b form-urlencoded (RFC 6749 B).  0 or -1 (b's cap). */
int	 http_form_escape(struct buf *b, const char *s);

#endif
