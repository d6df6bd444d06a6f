/*
 * bounce owns the report of a final failure (bounce.h): its text, built
 * by pure functions (fuzzed in tests/fuzz/fuzz_bounce.c), and its way
 * out: a queue entry of its own with the null sender and the failed
 * message's route, handed to deliver like a message just taken from a
 * caller, so that it is queued (and retried by the runner) when it
 * cannot go at once.
 *
 * At most once: the failed entry records the report (bounced, bounce-id,
 * bounce-to) durably before the report is made whole; a crash in
 * between loses the report rather than sending it twice.  The report's
 * entry gets no envelope until then, so a killed run leaves nothing of
 * it that would be sent.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "bounce.h"
#include "conf.h"
#include "deliver.h"
#include "envelope.h"
#include "err.h"
#include "spool.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/rand.h"

/* The longest server text a report field carries. */
#define BOUNCE_TEXT_MAX	900

/* ---------------------------------------------------------- parsing */

size_t
bounce_header_len(const char *msg, size_t len, size_t max)
{
	const char *nl;
	size_t i = 0, fit = 0, end;

	while (i < len) {
		if (msg[i] == '\n' || (msg[i] == '\r' && i + 1 < len &&
		    msg[i + 1] == '\n'))
			/* The empty line: the header section ends here. */
			return i <= max ? i : fit;
		/* A field starts here (not a continuation line). */
		if (msg[i] != ' ' && msg[i] != '\t' && i <= max)
			fit = i;
		nl = memchr(msg + i, '\n', len - i);
		end = nl != NULL ? (size_t)(nl - msg) + 1 : len;
		if (end > max)
			return fit;
		i = end;
	}
	return len <= max ? len : fit;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The length of "C.SSS.DDD" at p (RFC 3463), or 0. */
static size_t
enhanced_len(const char *p)
{
	size_t i = 0, n;
	int part;

	if (p[0] != '2' && p[0] != '4' && p[0] != '5')
		return 0;
	i = 1;
	for (part = 0; part < 2; part++) {
		if (p[i] != '.')
			return 0;
		i++;
		for (n = 0; n < 3 && is_digit(p[i]); n++)
			i++;
		if (n == 0)
			return 0;
	}
	if (p[i] != '\0' && p[i] != ' ' && p[i] != '\t')
		return 0;
	return i;
}

void
bounce_status(const char *reply, const char *dflt, char *out)
{
	const char *p = reply;
	size_t n;
	char cls = 0;

	snprintf(out, 16, "%s", dflt);
	if (p == NULL)
		return;
	while (*p == ' ')
		p++;
	if (is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) &&
	    (p[3] == ' ' || p[3] == '-' || p[3] == '\0')) {
		cls = p[0];
		p += p[3] == '\0' ? 3 : 4;
	}
	if ((n = enhanced_len(p)) > 0 && n < 16) {
		memcpy(out, p, n);
		out[n] = '\0';
		return;
	}
	if (cls == '2' || cls == '4' || cls == '5')
		snprintf(out, 16, "%c.0.0", cls);
}

/*
 * Where an SMTP reply starts in a line of posthorn's ("... refused the
 * message: 554 5.7.1 spam"): a three-digit code 2xx-5xx, at the start or
 * after a space, followed by a space, a dash or the end.  NULL if none.
 */
static const char *
find_reply(const char *s)
{
	const char *p;

	if (s == NULL)
		return NULL;
	for (p = s; *p != '\0'; p++) {
		if (p != s && p[-1] != ' ')
			continue;
		if (p[0] >= '2' && p[0] <= '5' && is_digit(p[1]) &&
		    is_digit(p[2]) && (p[3] == ' ' || p[3] == '-' ||
		    p[3] == '\0'))
			return p;
	}
	return NULL;
}

/* ---------------------------------------------------------- writing */

/*
 * Adds s as text safe on one line: control characters become spaces,
 * with ascii bytes of 0x80 and up '?', at most max octets.
 */
static int
add_safe(struct buf *b, const char *s, size_t max, int ascii)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n;
	int r = 0;

	for (n = 0; *p != '\0' && n < max; p++, n++) {
		if (*p < 0x20 || *p == 0x7f)
			r |= buf_addc(b, ' ');
		else if (*p >= 0x80 && ascii)
			r |= buf_addc(b, '?');
		else
			r |= buf_addc(b, *p);
	}
	return r;
}

static int
add_date(struct buf *b, time_t t)
{
	char date[64];
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		snprintf(date, sizeof(date), "Thu, 01 Jan 1970 00:00:00 +0000");
	return buf_adds(b, date);
}

/* The original's header lines, each ended by CRLF, controls made '?'. */
static int
add_headers(struct buf *b, const char *h, size_t len)
{
	size_t i, start = 0, end;
	int r = 0;

	while (start < len) {
		for (i = start; i < len && h[i] != '\n'; i++)
			;
		end = i;
		if (end > start && h[end - 1] == '\r')
			end--;
		for (; start < end; start++) {
			unsigned char c = (unsigned char)h[start];

			r |= buf_addc(b, (c < 0x20 && c != '\t') || c == 0x7f ?
			    '?' : c);
		}
		r |= buf_adds(b, "\r\n");
		start = i + 1;
	}
	return r;
}

/* What one recipient's block says: its status and the server's words. */
static void
rcpt_outcome(const struct bounce_report *r, const struct rcpt *rc,
    const char **diag, char *status)
{
	const char *why_reply = find_reply(r->why);
	const char *dflt = r->expired ? "4.4.7" : "5.0.0";

	if (rc->code >= 400 && rc->reply != NULL && (rc->state ==
	    RCPT_FAILED || why_reply == NULL)) {
		*diag = rc->reply;
		bounce_status(rc->reply, dflt, status);
		return;
	}
	*diag = why_reply;
	bounce_status(why_reply, dflt, status);
}

int
bounce_compose(struct buf *out, const struct bounce_report *r)
{
	const struct envelope *env = r->env;
	const char *diag;
	char status[16];
	size_t i;
	int x = 0;

	x |= buf_adds(out, "From: Mail Delivery System <MAILER-DAEMON@");
	x |= add_safe(out, r->domain, 255, 0);
	x |= buf_adds(out, ">\r\nTo: <");
	x |= add_safe(out, r->to, 1000, 0);
	x |= buf_adds(out, ">\r\nSubject: Undelivered Mail Returned to "
	    "Sender\r\nDate: ");
	x |= add_date(out, r->now);
	x |= buf_adds(out, "\r\nMessage-ID: <");
	x |= add_safe(out, r->boundary, 100, 1);
	x |= buf_addc(out, '@');
	x |= add_safe(out, r->domain, 255, 0);
	x |= buf_printf(out, ">\r\nAuto-Submitted: auto-replied\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n"
	    "This is a MIME-encapsulated message.\r\n\r\n", r->boundary);

	/* For people. */
	x |= buf_printf(out, "--%s\r\nContent-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n", r->boundary);
	x |= buf_adds(out, "This is posthorn on ");
	x |= add_safe(out, r->mta, 255, 1);
	x |= buf_adds(out, ".\r\n\r\nYour message could not be delivered to "
	    "the recipients below, and\r\nposthorn has stopped trying. Its "
	    "header is attached.\r\n\r\nQueue id: ");
	x |= add_safe(out, r->id, 64, 1);
	x |= buf_adds(out, "\r\nReason: ");
	x |= add_safe(out, r->why, BOUNCE_TEXT_MAX, 0);
	x |= buf_adds(out, "\r\n\r\n");
	for (i = 0; i < env->nrcpt; i++) {
		const struct rcpt *rc = &env->rcpt[i];

		if (rc->state == RCPT_DONE)
			continue;
		rcpt_outcome(r, rc, &diag, status);
		x |= buf_adds(out, "<");
		x |= add_safe(out, rc->addr, 1000, 0);
		x |= buf_adds(out, ">: ");
		x |= add_safe(out, diag != NULL ? diag : r->why,
		    BOUNCE_TEXT_MAX, 0);
		x |= buf_adds(out, "\r\n");
	}
	x |= buf_adds(out, "\r\n");

	/* For programs (RFC 3464). */
	x |= buf_printf(out, "--%s\r\nContent-Description: Delivery report"
	    "\r\nContent-Type: message/delivery-status\r\n\r\n"
	    "Reporting-MTA: dns; ", r->boundary);
	x |= add_safe(out, r->mta, 255, 1);
	x |= buf_adds(out, "\r\nX-Posthorn-Queue-ID: ");
	x |= add_safe(out, r->id, 64, 1);
	if (env->dsn_envid != NULL) {
		x |= buf_adds(out, "\r\nOriginal-Envelope-Id: ");
		x |= add_safe(out, env->dsn_envid, 100, 1);
	}
	x |= buf_adds(out, "\r\nArrival-Date: ");
	x |= add_date(out, env->created);
	x |= buf_adds(out, "\r\n");
	for (i = 0; i < env->nrcpt; i++) {
		const struct rcpt *rc = &env->rcpt[i];

		if (rc->state == RCPT_DONE)
			continue;
		rcpt_outcome(r, rc, &diag, status);
		x |= buf_adds(out, "\r\n");
		if (rc->orcpt != NULL && strchr(rc->orcpt, ';') != NULL) {
			x |= buf_adds(out, "Original-Recipient: ");
			x |= add_safe(out, rc->orcpt, 1000, 1);
			x |= buf_adds(out, "\r\n");
		}
		x |= buf_adds(out, addr_is_utf8(rc->addr) ?
		    "Final-Recipient: utf-8; " : "Final-Recipient: rfc822; ");
		x |= add_safe(out, rc->addr, 1000, 0);
		x |= buf_printf(out, "\r\nAction: failed\r\nStatus: %s\r\n",
		    status);
		if (r->remote != NULL) {
			x |= buf_adds(out, "Remote-MTA: dns; ");
			x |= add_safe(out, r->remote, 255, 1);
			x |= buf_adds(out, "\r\n");
		}
		if (diag != NULL) {
			x |= buf_adds(out, "Diagnostic-Code: smtp; ");
			x |= add_safe(out, diag, BOUNCE_TEXT_MAX, 1);
			x |= buf_adds(out, "\r\n");
		}
		x |= buf_adds(out, "Last-Attempt-Date: ");
		x |= add_date(out, r->now);
		x |= buf_adds(out, "\r\n");
	}
	x |= buf_adds(out, "\r\n");

	/* The original's header. */
	x |= buf_printf(out, "--%s\r\nContent-Description: Undelivered "
	    "message header\r\nContent-Type: text/rfc822-headers\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n", r->boundary);
	x |= add_headers(out, r->headers, r->headers_len);
	x |= buf_printf(out, "\r\n--%s--\r\n", r->boundary);
	return x ? -1 : 0;
}

/* ------------------------------------------------------------- hook */

/* The domain of the account's from, else its EHLO name. */
static const char *
report_domain(const struct account *a)
{
	const char *at;

	if (a->from != NULL && (at = strrchr(a->from, '@')) != NULL &&
	    at[1] != '\0' && strpbrk(at + 1, "*?[") == NULL)
		return at + 1;
	return a->domain != NULL ? a->domain : "localhost";
}

/* A boundary that no line of the original's header holds. */
static int
make_boundary(char *b, size_t n, const char *h, size_t hlen)
{
	int tries;

	for (tries = 0; tries < 8; tries++) {
		memcpy(b, "posthorn-", 9);
		if (n < 9 + 25 || rand_alnum(b + 9, 24) == -1)
			return -1;
		if (memmem(h, hlen, b, strlen(b)) == NULL)
			return 0;
	}
	return -1;
}

/* Message properties smtp needs, from the report's bytes. */
static void
report_props(struct envelope *env, const char *p, size_t len)
{
	size_t i, line = 0;

	for (i = 0; i < len; i++) {
		if ((unsigned char)p[i] >= 0x80)
			env->body = BODY_8BITMIME;
		if (p[i] == '\n')
			line = 0;
		else if (++line > 999)
			env->long_lines = 1;
	}
}

/* Whom ent's report goes to and on which route: the original's. */
static void
report_envelope(struct envelope *env, const struct envelope *orig,
    const char *to, size_t size)
{
	envelope_set(&env->sender, "");
	envelope_add_rcpt(env, to);
	envelope_set(&env->account, orig->account);
	envelope_set(&env->host, orig->host);
	env->port = orig->port;
	envelope_set(&env->tls, orig->tls);
	envelope_set(&env->user, orig->user);
	envelope_set(&env->auth, orig->auth);
	envelope_set(&env->conf, orig->conf);
	envelope_set(&env->route, orig->route);
	envelope_set(&env->route_desc, orig->route_desc);
	env->lifetime = orig->lifetime;
	env->created = time(NULL);
	env->size = (off_t)size;
	env->smtputf8 = addr_is_utf8(to) || orig->smtputf8;
}

void
bounce_failed(struct deliver_ctx *d, struct spool_entry *ent,
    const struct account *a, const char *why, const char *mta)
{
	struct envelope *env = &ent->env;
	struct bounce_report r;
	struct spool_entry dsn;
	struct deliver_ctx nd;
	struct buf msg;
	struct err e;
	char *head, boundary[40];
	const char *to;
	ssize_t n;
	size_t hlen;

	if (a == NULL || !a->bounce || env->sender == NULL ||
	    env->sender[0] == '\0' || env->bounced != 0)
		return;
	to = a->bounce_to != NULL ? a->bounce_to : env->sender;

	head = xmalloc(BOUNCE_HEADER_MAX + 2);
	n = pread(ent->fd, head, BOUNCE_HEADER_MAX + 2, 0);
	hlen = n > 0 ? bounce_header_len(head, (size_t)n,
	    BOUNCE_HEADER_MAX) : 0;
	if (make_boundary(boundary, sizeof(boundary), head, hlen) == -1) {
		fprintf(stderr, "posthorn: %s: no failure report: no random "
		    "numbers\n", ent->id);
		free(head);
		return;
	}
	memset(&r, 0, sizeof(r));
	r.env = env;
	r.id = ent->id;
	r.to = to;
	r.why = why != NULL ? why : env->last_error;
	r.mta = mta != NULL ? mta : "localhost";
	r.remote = a->host;
	r.domain = report_domain(a);
	r.boundary = boundary;
	r.headers = head;
	r.headers_len = hlen;
	r.expired = why != NULL && strncmp(why, "gave up after ", 14) == 0;
	r.now = d->now;
	buf_init(&msg, 0);
	if (bounce_compose(&msg, &r) == -1) {
		buf_release(&msg);
		free(head);
		return;
	}
	free(head);

	err_clear(&e);
	if (spool_create(d->spool, &dsn, &e) == -1) {
		fprintf(stderr, "posthorn: %s: no failure report: %s\n",
		    ent->id, e.text);
		buf_release(&msg);
		return;
	}
	if (fsio_write_all(dsn.fd, msg.data, msg.len) == -1) {
		fprintf(stderr, "posthorn: %s: no failure report: cannot "
		    "write it: %s\n", ent->id, strerror(errno));
		goto drop;
	}
	report_envelope(&dsn.env, env, to, msg.len);
	report_props(&dsn.env, msg.data, msg.len);

	/* Recorded before it can go: at most one report per message. */
	env->bounced = d->now;
	envelope_set(&env->bounce_id, dsn.id);
	envelope_set(&env->bounce_to, to);
	if (spool_save(d->spool, ent, &e) == -1) {
		fprintf(stderr, "posthorn: %s: no failure report: %s\n",
		    ent->id, e.text);
		goto drop;
	}
	if (spool_intake_done(d->spool, &dsn, 1, &e) == -1) {
		fprintf(stderr, "posthorn: %s: the failure report was lost: "
		    "%s\n", ent->id, e.text);
		goto drop;
	}
	buf_release(&msg);
	nd = *d;
	nd.alone = 1;
	nd.json = 0;
	nd.on_failed = NULL;
	deliver_new(&nd, &dsn, a);
	if (d->verbose)
		fprintf(stderr, "posthorn: %s: failure report %s to <%s>\n",
		    ent->id, dsn.id, to);
	spool_release(&dsn);
	return;
drop:
	spool_done(d->spool, &dsn);
	spool_release(&dsn);
	buf_release(&msg);
}
