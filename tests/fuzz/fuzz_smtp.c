/*
 * fuzz_smtp: the SMTP dialogue.  The input plays the server against the
 * real client (smtp_open_on, smtp_send twice on one session, smtp_close)
 * over the in-memory transport.  Its first byte chooses the account and
 * the message; the rest is what the server says, cut into turns by lines
 * "--" (a turn is what the server has to say when the client next waits
 * for it: the greeting, the EHLO reply, an AUTH challenge, the replies to
 * a pipelined envelope...).  A line "-!" instead starts a turn that does
 * not wait for the client: its bytes are there as soon as the previous
 * turn has been read (a reply in the middle of the message data,
 * unsolicited bytes).
 *
 * The first byte: bits 0-1 the account (0 STARTTLS and auth on; 1 no TLS
 * and AUTH with the mechanism of bits 2-4; 2 no TLS and no AUTH; 3
 * implicit TLS and auth on); bits 5-6 one to four recipients; bit 7 a
 * large 8-bit message (80 KB, lines starting with dots) instead of a
 * small one.  TLS accounts pin a certificate instead of loading the
 * system's trust store (a handshake cannot succeed here either way).
 *
 * Invariants, each an abort(): nothing of the password (as is, in
 * base64, as a PLAIN, XOAUTH2 or OAUTHBEARER response) and no AUTH
 * command on the wire unless the account says tls off; no byte of the
 * message data written unless the last reply read was a 354 (DATA) or
 * the server offered CHUNKING; never more RCPT commands in one
 * transaction than recipients pending, never an empty RCPT TO:<>; an
 * error's kind consistent with the reply it carries (4xx temporary, 5xx
 * permanent but for a refused RSET, 2xx/3xx a protocol error); a result
 * consistent with the recipients' states; error text one printable line.
 *
 * With FUZZ_SMTP_TRACE set, each run prints its outcomes and what the
 * client sent on standard error (for writing seeds).
 *
 * SCRAM challenges whose iteration count is above 4096 are not played:
 * the cost of PBKDF2 is not what this target looks at (issue 8 row 7
 * caps it in auth).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "envelope.h"
#include "err.h"
#include "smtp.h"
#include "transport.h"
#include "util/alloc.h"
#include "util/b64.h"
#include "util/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define USER		"fuzzuser"
#define PASSWORD	"fuzz-pw-Secret1"
#define TURNS_MAX	64
#define BODY_MARK	"UZZBOD"	/* in every line of the message data */
#define ITER_MAX	4096

static const char *const mechs[8] = {
	NULL, "PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-256",
	"XOAUTH2", "OAUTHBEARER"
};

struct server {
	const char	*turn[TURNS_MAX];
	size_t		 len[TURNS_MAX];
	int		 eager[TURNS_MAX];	/* no wait before it */
	size_t		 n;
	size_t		 i;
	size_t		 off;
	struct buf	 wire;		/* everything the client sent */
	struct smtp	*s;
};

static ssize_t
srv_read(void *arg, void *p, size_t n)
{
	struct server *v = arg;
	size_t left;

	if (v->i >= v->n)
		return 0;
	left = v->len[v->i] - v->off;
	while (left == 0 && v->i + 1 < v->n && v->eager[v->i + 1]) {
		v->i++;
		v->off = 0;
		left = v->len[v->i];
	}
	if (left == 0)
		return TRANSPORT_AGAIN;
	if (n > left)
		n = left;
	memcpy(p, v->turn[v->i] + v->off, n);
	v->off += n;
	return (ssize_t)n;
}

static void
srv_turn(void *arg)
{
	struct server *v = arg;

	if (v->i < v->n) {
		v->i++;
		v->off = 0;
	}
}

static int
srv_write(void *arg, const void *p, size_t n)
{
	struct server *v = arg;

	/* Message data only after a 354, unless the server chunks. */
	if (v->s != NULL && memmem(p, n, BODY_MARK, strlen(BODY_MARK)) &&
	    !(v->s->caps.flags & CAP_CHUNKING) && v->s->reply.code != 354)
		abort();
	return buf_add(&v->wire, p, n);
}

/* Cuts the input into turns at lines "--" and "-!". */
static void
split(struct server *v, const char *p, size_t n)
{
	const char *end = p + n, *q, *w, *x;

	v->n = 0;
	while (p < end && v->n < TURNS_MAX) {
		w = memmem(p, (size_t)(end - p), "\n--\n", 4);
		x = memmem(p, (size_t)(end - p), "\n-!\n", 4);
		q = w == NULL || (x != NULL && x < w) ? x : w;
		v->turn[v->n] = p;
		if (q == NULL) {
			v->len[v->n++] = (size_t)(end - p);
			break;
		}
		v->len[v->n++] = (size_t)(q + 1 - p);
		if (v->n < TURNS_MAX)
			v->eager[v->n] = q == x;
		p = q + 4;
	}
}

/* 1 when a 334 challenge asks SCRAM for more than ITER_MAX iterations. */
static int
costly(const struct server *v)
{
	const char *p, *end, *nl, *it;
	char *dec;
	size_t i, len;
	long n, dlen;

	for (i = 0; i < v->n; i++) {
		p = v->turn[i];
		end = p + v->len[i];
		for (; p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			if (nl == NULL)
				nl = end;
			len = (size_t)(nl - p);
			if (len > 4 && memcmp(p, "334 ", 4) == 0) {
				/* The line may end in CR: not base64. */
				if (p[len - 1] == '\r')
					len--;
				dec = xmalloc(len);
				dlen = b64_decode(p + 4, len - 4, dec);
				if (dlen >= 0) {
					dec[dlen] = '\0';
					for (it = dec; (it = strstr(it, "i=")) !=
					    NULL; it += 2) {
						n = strtol(it + 2, NULL, 10);
						if (n > ITER_MAX || n < 0) {
							free(dec);
							return 1;
						}
					}
				}
				free(dec);
			}
			if (nl == end)
				break;
		}
	}
	return 0;
}

/* The stored message: small, or large with dots and 8-bit text. */
static int
message(int large, off_t *size)
{
	static int fd[2] = { -1, -1 };
	static off_t sz[2];
	FILE *f;
	int i;

	if (fd[large] == -1) {
		f = tmpfile();
		if (f == NULL)
			abort();
		if (!large)
			fputs("Subject: f\r\n\r\n" BODY_MARK " hello\r\n", f);
		else {
			fputs("Subject: f\r\nMIME-Version: 1.0\r\nContent-Type: "
			    "text/plain; charset=utf-8\r\n\r\n", f);
			for (i = 0; i < 1200; i++)
				fprintf(f, "%s" BODY_MARK " %04d gr\xc3\xbc\xc3\x9f"
				    "e ....................................\r\n",
				    i % 7 == 0 ? "." : "", i);
		}
		fflush(f);
		fd[large] = dup(fileno(f));
		sz[large] = lseek(fd[large], 0, SEEK_END);
		fclose(f);
	}
	*size = sz[large];
	return fd[large];
}

static struct account *
account(unsigned sel)
{
	static const unsigned char pin[32] = { 0x42 };
	struct account *a = conf_account_new("fuzz");

	a->host = xstrdup("mx.example");
	a->user = xstrdup(USER);
	a->password = xstrdup(PASSWORD);
	a->auth = 1;
	switch (sel & 3) {
	case 0:		/* STARTTLS */
	case 3:		/* implicit TLS */
		a->tls = 1;
		a->tls_starttls = (sel & 3) == 0;
		memcpy(a->tls_fingerprint, pin, sizeof(pin));
		a->tls_fingerprint_len = sizeof(pin);
		break;
	case 1:
		a->tls = 0;
		if (mechs[(sel >> 2) & 7] != NULL)
			a->auth_mech = xstrdup(mechs[(sel >> 2) & 7]);
		break;
	default:
		a->tls = 0;
		a->auth = 0;
		break;
	}
	return a;
}

static void
envelope(struct envelope *env, unsigned sel, int large, off_t size)
{
	static const char *const to[4] = { "bob@example.org",
	    "carol@example.net", "dave@example.com", "erin@example.org" };
	size_t i, n = 1 + ((sel >> 5) & 3);

	envelope_init(env);
	env->sender = xstrdup("alice@example.org");
	for (i = 0; i < n; i++)
		envelope_add_rcpt(env, to[i]);
	env->size = size;
	env->body = large ? BODY_8BITMIME : BODY_7BIT;
}

/* A string that must not be on the wire, in plain and in base64. */
static void
absent(const struct buf *wire, const char *s, size_t n)
{
	char *b = xmalloc(B64_LEN(n) + 1);

	if (memmem(wire->data ? wire->data : "", wire->len, s, n) != NULL)
		abort();
	b64_encode(s, n, b);
	if (memmem(wire->data ? wire->data : "", wire->len, b, strlen(b)))
		abort();
	free(b);
}

static void
check_err(int rv, const struct err *e)
{
	size_t i;
	int cls = e->reply / 100;

	if (getenv("FUZZ_SMTP_TRACE") != NULL)
		fprintf(stderr, "-> %d kind %d reply %d: %s\n", rv, e->kind,
		    e->reply, rv == 0 ? "" : e->text);
	if (rv == 0)
		return;
	if (e->kind == ERR_NONE || e->text[0] == '\0')
		abort();
	for (i = 0; e->text[i] != '\0'; i++)
		if ((unsigned char)e->text[i] < 0x20 || e->text[i] == 0x7f)
			abort();
	if (cls == 4 && e->kind != ERR_TEMP)
		abort();
	/* A refused RSET judged no message: it is retried (temporary). */
	if (cls == 5 && e->kind != ERR_NOUSER && e->kind != ERR_UNAVAILABLE &&
	    e->kind != ERR_NOPERM &&
	    !(e->phase == SMTP_RSET + 1 && e->kind == ERR_TEMP))
		abort();
	if ((cls == 2 || cls == 3) && e->kind != ERR_PROTOCOL)
		abort();
}

/* One message over s; the checks of its transaction. */
static void
send_one(struct smtp *s, struct server *v, unsigned sel, int large,
    int last)
{
	struct envelope env;
	struct err e;
	off_t size;
	size_t before = v->wire.len, i, pending, rcpts = 0, done;
	const char *p, *end;
	int fd = message(large, &size), rv;

	envelope(&env, sel, large, size);
	pending = env.nrcpt;
	rv = smtp_send(s, &env, fd, last, &e);
	check_err(rv, &e);
	done = envelope_count(&env, RCPT_DONE);
	if ((rv == 0) != (done > 0))
		abort();
	/* This transaction's RCPT commands. */
	p = v->wire.data != NULL ? v->wire.data + before : "";
	end = p + (v->wire.len - before);
	for (; p < end && (p = memmem(p, (size_t)(end - p), "RCPT TO:",
	    8)) != NULL; p += 8) {
		rcpts++;
		if (end - p >= 10 && memcmp(p, "RCPT TO:<>", 10) == 0)
			abort();
	}
	if (rcpts > pending)
		abort();
	for (i = 0; i < env.nrcpt; i++)
		if (env.rcpt[i].state == RCPT_DONE && env.rcpt[i].code / 100 != 2)
			abort();
	envelope_release(&env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server v;
	struct transport_peer peer = { srv_read, srv_turn, srv_write, &v };
	struct account *a;
	struct smtp s;
	struct err e;
	unsigned sel;
	int rv, large;

	if (size < 1)
		return 0;
	sel = data[0];
	large = (sel & 0x80) != 0;
	memset(&v, 0, sizeof(v));
	split(&v, (const char *)data + 1, size - 1);
	if (costly(&v))
		return 0;
	buf_init(&v.wire, 64 * 1024 * 1024);
	a = account(sel);

	memset(&s, 0, sizeof(s));
	v.s = &s;
	rv = smtp_open_on(&s, a, transport_memory(&peer, "mx.example"), 0,
	    &e);
	check_err(rv, &e);
	if (rv == 0) {
		send_one(&s, &v, sel, large, 0);
		if (s.open)
			send_one(&s, &v, sel >> 1, !large, 1);
		smtp_close(&s);
	}
	v.s = NULL;

	if (getenv("FUZZ_SMTP_TRACE") != NULL)
		fprintf(stderr, "wire (%zu bytes): %.*s\n", v.wire.len,
		    v.wire.len > 2000 ? 2000 : (int)v.wire.len,
		    v.wire.data ? v.wire.data : "");
	if (a->tls) {
		char plain[64];
		size_t n;

		absent(&v.wire, PASSWORD, strlen(PASSWORD));
		n = (size_t)snprintf(plain, sizeof(plain), "%c%s%c%s", 0,
		    USER, 0, PASSWORD);
		absent(&v.wire, plain, n);
		n = (size_t)snprintf(plain, sizeof(plain),
		    "user=%s\1auth=Bearer %s\1\1", USER, PASSWORD);
		absent(&v.wire, plain, n);
		n = (size_t)snprintf(plain, sizeof(plain),
		    "n,a=%s,\1auth=Bearer %s\1\1", USER, PASSWORD);
		absent(&v.wire, plain, n);
		if (memmem(v.wire.data ? v.wire.data : "", v.wire.len,
		    "AUTH ", 5) != NULL)
			abort();
	}
	buf_release(&v.wire);
	conf_account_free(a);
	return 0;
}
