/*
 * msg owns the way a caller's message becomes posthorn's stored message
 * and its envelope.  Input is read in blocks; the header section goes line
 * by line through the header reader (lines capped at 998 octets, fields at
 * MSG_FIELD_MAX), the body is streamed byte runs at a time with line ends
 * made CRLF.  Headers are rewritten only where they must be: Bcc,
 * Return-Path, Content-Length and a leading mbox "From " line dropped;
 * From, Date, Message-ID added when missing; unqualified addresses in
 * address fields qualified in place, comments and display names kept.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "alias.h"
#include "conf.h"
#include "err.h"
#include "hdr.h"
#include "msg.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/rand.h"
#include "util/str.h"
#include "util/strset.h"

#define MSG_READ_BLOCK	65536

/* What a header field means to msg. */
enum {
	F_ADDR		= 1 << 0,	/* holds addresses: qualify them */
	F_RCPT		= 1 << 1,	/* recipients for -t */
	F_BCC		= 1 << 2,	/* removed before sending */
	F_SENDER	= 1 << 3,	/* sender-like: aliases may rename */
	F_FROM		= 1 << 4,
	F_DATE		= 1 << 5,
	F_MSGID		= 1 << 6,
	F_DROP		= 1 << 7,	/* always removed */
	F_RESENT	= 1 << 8,
	F_TOCC		= 1 << 9,	/* To or Cc (set_to_header) */
	F_RFROM		= 1 << 10,	/* Resent-From */
};

static const struct {
	const char	*name;
	unsigned	 flags;
} fields[] = {
	{ "from",		F_ADDR | F_SENDER | F_FROM },
	{ "sender",		F_ADDR | F_SENDER },
	{ "reply-to",		F_ADDR },
	{ "to",			F_ADDR | F_RCPT | F_TOCC },
	{ "cc",			F_ADDR | F_RCPT | F_TOCC },
	{ "bcc",		F_ADDR | F_RCPT | F_BCC },
	{ "resent-from",	F_ADDR | F_SENDER | F_RESENT | F_RFROM },
	{ "resent-sender",	F_ADDR | F_SENDER | F_RESENT },
	{ "resent-to",		F_ADDR | F_RCPT | F_RESENT },
	{ "resent-cc",		F_ADDR | F_RCPT | F_RESENT },
	{ "resent-bcc",		F_ADDR | F_RCPT | F_BCC | F_RESENT },
	{ "resent-date",	F_RESENT },
	{ "resent-message-id",	F_RESENT },
	{ "date",		F_DATE },
	{ "message-id",		F_MSGID },
	{ "return-path",	F_DROP },
	{ "content-length",	F_DROP },
};

enum phase { PH_FIRST, PH_HEADERS, PH_BODY };
enum resent { RS_NONE, RS_FIRST, RS_CLOSED };

struct writer {
	int	 fd;
	char	*buf;
	size_t	 len;
	off_t	 total;
};

struct reader {
	const struct msg_params	*p;
	struct envelope		*env;
	struct err		*e;
	struct writer		 w;
	struct hdr_reader	 hr;
	struct buf		 line;		/* header-phase line */
	enum phase		 phase;
	int			 cr;		/* last byte was CR */
	int			 hdr_cr;	/* a header-section line ended in
						   CR at the end of a block: LF
						   must follow */
	unsigned long		 lineno;
	size_t			 body_linelen;
	unsigned char		 body_hi;	/* OR of every body byte */
	unsigned char		 hdr_hi;	/* OR of every header byte */
	int			 seen_from, seen_date, seen_msgid;
	char			*from_addr;	/* first From address, resolved */
	struct strv		 hdr_rcpt;	/* To, Cc, Bcc (-t) */
	struct strv		 resent_rcpt;	/* first Resent- block (-t) */
	struct rcpt		*rv;		/* the recipients, built here */
	size_t			 rn, rcap;
	struct strset		 rseen;		/* their keys (see rcpt_key) */
	enum resent		 resent;
	int			 pushed;	/* lines given to the header reader */
};

/* ------------------------------------------------------------ output */

static int
w_flush(struct reader *r)
{
	if (r->w.len == 0)
		return 0;
	if (fsio_write_all(r->w.fd, r->w.buf, r->w.len) == -1)
		return err_set(r->e, ERR_CANTCREAT,
		    "cannot write the queue file: %s", strerror(errno));
	r->w.len = 0;
	return 0;
}

static int
w_add(struct reader *r, const void *p, size_t n)
{
	r->w.total += (off_t)n;
	if (r->w.len + n > MSG_READ_BLOCK) {
		if (w_flush(r) == -1)
			return -1;
		if (n >= MSG_READ_BLOCK) {
			if (fsio_write_all(r->w.fd, p, n) == -1)
				return err_set(r->e, ERR_CANTCREAT,
				    "cannot write the queue file: %s",
				    strerror(errno));
			return 0;
		}
	}
	memcpy(r->w.buf + r->w.len, p, n);
	r->w.len += n;
	return 0;
}

static int
w_adds(struct reader *r, const char *s)
{
	return w_add(r, s, strlen(s));
}

/* ------------------------------------------------------- addresses */

const char *
msg_domain(const struct msg_params *p)
{
	const char *at;

	if (p->acct != NULL && p->acct->from != NULL &&
	    (at = strrchr(p->acct->from, '@')) != NULL && at[1] != '\0' &&
	    strpbrk(at, "*?[") == NULL)
		return at + 1;
	return p->domain != NULL ? p->domain : "localhost";
}

int
msg_local_domain(const struct msg_params *p, const char *domain, size_t n)
{
	const char *from = p->acct != NULL ? p->acct->from : NULL;
	const char *at = from != NULL ? strrchr(from, '@') : NULL;
	size_t i;

	/* The from domain is other people's too (colleagues at the same
	   domain), whatever local_domains lists. */
	if (p->local_domains == NULL || n == 0 || (at != NULL &&
	    strlen(at + 1) == n && strncasecmp(at + 1, domain, n) == 0))
		return 0;
	for (i = 0; i < p->local_domains->n; i++)
		if (strlen(p->local_domains->v[i]) == n &&
		    strncasecmp(p->local_domains->v[i], domain, n) == 0)
			return 1;
	return conf_local_fqdn(p->acct, p->env, domain, n);
}

int
msg_resolve(const struct msg_params *p, const char *addr, int single,
    struct strv *out, struct err *e)
{
	struct strv exp = { NULL, 0 };
	const char *domain = msg_domain(p);
	const char *at = strrchr(addr, '@');
	char *local = NULL;
	size_t i;
	int r;

	if (*addr == '\0' || (at != NULL && (at == addr ||
	    !msg_local_domain(p, at + 1, strlen(at + 1))))) {
		strv_add(out, addr);
		return 0;
	}
	if (at != NULL)
		addr = local = xstrndup(addr, (size_t)(at - addr));
	r = p->aliases != NULL ? alias_expand(p->aliases, addr, &exp, e) : 0;
	if (r == -1) {
		free(local);
		return -1;
	}
	if (r == 0 && !single && p->admin != NULL)
		strv_add(out, p->admin);
	else if (r == 0 || (single && exp.n != 1))
		strv_take(out, xasprintf("%s@%s", addr, domain));
	else
		for (i = 0; i < exp.n; i++) {
			if (strchr(exp.v[i], '@') != NULL)
				strv_add(out, exp.v[i]);
			else
				strv_take(out, xasprintf("%s@%s", exp.v[i],
				    domain));
		}
	strv_free(&exp);
	free(local);
	return 0;
}

/*
 * Rewrites an address field's value so that every unqualified address is
 * qualified (sender-like fields go through the aliases first).  Returns
 * 1 and fills out when something changed, 0 when the value stays, -1 on a
 * broken alias or when the result would pass out's cap (ERR_DATA: the
 * field is refused, never written cut short).  A value that does not
 * parse is left alone: it is not posthorn's to repair, and -t reports it
 * separately.
 */
static int
qualify_field(struct reader *r, const struct hdr_field *f, unsigned flags,
    struct buf *out)
{
	const char *value = f->value;
	size_t len = f->valuelen;
	struct addr_list l;
	struct err ignore;
	size_t i, pos = 0;
	int changed = 0;

	addr_list_init(&l);
	if (addr_parse_list(value, len, &l, &ignore) == -1) {
		addr_list_release(&l);
		return 0;
	}
	for (i = 0; i < l.n; i++) {
		struct addr *a = &l.v[i];
		struct strv res = { NULL, 0 };
		char *spec;

		if (a->local[0] == '\0' || (a->domain != NULL &&
		    (!(flags & F_SENDER) || !msg_local_domain(r->p, a->domain,
		    strlen(a->domain)))))
			continue;
		spec = addr_spec(a);
		if ((flags & F_SENDER) &&
		    msg_resolve(r->p, spec, 1, &res, r->e) == -1) {
			free(spec);
			addr_list_release(&l);
			return -1;
		}
		free(spec);
		if (res.n == 1) {
			if (buf_add(out, value + pos, a->spec_start - pos) ==
			    -1 || buf_adds(out, res.v[0]) == -1) {
				strv_free(&res);
				goto toolong;
			}
			pos = a->spec_end;
		} else {
			if (buf_add(out, value + pos, a->local_end - pos) ==
			    -1 || buf_printf(out, "@%s", msg_domain(r->p)) ==
			    -1) {
				strv_free(&res);
				goto toolong;
			}
			pos = a->local_end;
		}
		strv_free(&res);
		changed = 1;
	}
	if (changed && buf_add(out, value + pos, len - pos) == -1)
		goto toolong;
	addr_list_release(&l);
	return changed;
toolong:
	addr_list_release(&l);
	return err_set(r->e, ERR_DATA, "the %.*s header is longer than %zu "
	    "octets once its addresses are qualified", (int)f->namelen,
	    f->name, out->max);
}

/*
 * Qualifying addresses lengthens lines; a line of the field (CRLF
 * separated, no final CRLF) that grows past 998 octets is folded again:
 * before its last blank that keeps it short enough, else after its last
 * comma (white space may go between the addresses of a list).  ERR_DATA
 * when neither exists.
 */
static int
refold(struct buf *b, struct err *e)
{
	size_t start = 0, end, cut, k;
	const char *d;

	while (start < b->len) {
		d = b->data;
		for (end = start; end < b->len && !(d[end] == '\r' &&
		    end + 1 < b->len && d[end + 1] == '\n'); end++)
			;
		if (end - start <= MSG_LINE_MAX) {
			start = end + 2;
			continue;
		}
		cut = 0;
		for (k = start + MSG_LINE_MAX; k > start + 1; k--)
			if (d[k] == ' ' || d[k] == '\t') {
				cut = k;
				break;
			}
		if (cut != 0) {
			/* CRLF before the blank, which starts the next line. */
			if (buf_add(b, "\r\n", 2) == -1)
				return err_set(e, ERR_DATA, "header too long");
			d = b->data;
			memmove(b->data + cut + 2, d + cut, b->len - 2 - cut);
			memcpy(b->data + cut, "\r\n", 2);
			start = cut + 2;
			continue;
		}
		for (k = start + MSG_LINE_MAX - 1; k > start + 1; k--)
			if (d[k] == ',')
				break;
		if (k <= start + 1)
			return err_set(e, ERR_DATA, "a header line is longer "
			    "than %d octets once its addresses are qualified",
			    MSG_LINE_MAX);
		if (buf_add(b, "\r\n ", 3) == -1)
			return err_set(e, ERR_DATA, "header too long");
		memmove(b->data + k + 4, b->data + k + 1, b->len - 4 - k);
		memcpy(b->data + k + 1, "\r\n ", 3);
		start = k + 3;
	}
	return 0;
}

/* Collects the recipients of a To/Cc/Bcc field for -t. */
static int
collect_rcpts(struct reader *r, const struct hdr_field *f, struct strv *to)
{
	struct addr_list l;
	size_t i;

	addr_list_init(&l);
	if (addr_parse_list(f->value, f->valuelen, &l, r->e) == -1) {
		addr_list_release(&l);
		return err_prefix(r->e, "%.*s header: ", (int)f->namelen,
		    f->name);
	}
	for (i = 0; i < l.n; i++)
		if (l.v[i].local[0] != '\0')
			strv_take(to, addr_spec(&l.v[i]));
	addr_list_release(&l);
	return 0;
}

/* The first address of a From field, resolved, for the envelope sender. */
static void
remember_from(struct reader *r, const struct hdr_field *f)
{
	struct addr_list l;
	struct strv res = { NULL, 0 };
	struct err ignore;
	char *spec;

	if (r->from_addr != NULL)
		return;
	addr_list_init(&l);
	if (addr_parse_list(f->value, f->valuelen, &l, &ignore) == 0 &&
	    l.n > 0 && l.v[0].local[0] != '\0') {
		spec = addr_spec(&l.v[0]);
		if (msg_resolve(r->p, spec, 1, &res, &ignore) == 0 &&
		    res.n == 1)
			r->from_addr = xstrdup(res.v[0]);
		free(spec);
		strv_free(&res);
	}
	addr_list_release(&l);
}

/* ---------------------------------------------------------- headers */

static unsigned
field_flags(const struct hdr_field *f)
{
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (str_caseeqn(f->name, f->namelen, fields[i].name))
			return fields[i].flags;
	if (f->namelen > 7 && strncasecmp(f->name, "resent-", 7) == 0)
		return F_RESENT;
	return 0;
}

static int
handle_field(struct reader *r, const struct hdr_field *f)
{
	const struct account *a = r->p->acct;
	unsigned flags = field_flags(f);
	struct buf nv;
	int q;

	/* Resent- fields: only the first (newest) block names recipients. */
	if (flags & F_RESENT) {
		if (r->resent == RS_NONE)
			r->resent = RS_FIRST;
	} else if (r->resent == RS_FIRST)
		r->resent = RS_CLOSED;

	if ((flags & F_RCPT) && r->p->read_recipients) {
		if (!(flags & F_RESENT)) {
			if (collect_rcpts(r, f, &r->hdr_rcpt) == -1)
				return -1;
		} else if (r->resent == RS_FIRST) {
			if (collect_rcpts(r, f, &r->resent_rcpt) == -1)
				return -1;
		}
	}
	/* The message's sender address (%F, --read-envelope-from): From's,
	   or Resent-From's when it comes before any From (msmtp's rule). */
	if ((flags & F_RFROM) && !r->seen_from)
		remember_from(r, f);
	if (flags & F_FROM) {
		r->seen_from = 1;
		remember_from(r, f);
		if (a != NULL && a->set_from_header == SETFROM_ON)
			return 0;
	}
	if (flags & F_DATE)
		r->seen_date = 1;
	if (flags & F_MSGID)
		r->seen_msgid = 1;
	if (flags & F_DROP)
		return 0;
	if ((flags & F_BCC) && (a == NULL || a->remove_bcc_headers ||
	    r->p->remove_bcc))
		return 0;
	if ((flags & (F_TOCC | F_BCC)) && !(flags & F_RESENT) && a != NULL &&
	    a->set_to_header != SETTO_OFF)
		return 0;

	if (!str_is_ascii(f->raw, f->rawlen))
		r->hdr_hi = 0x80;
	if (flags & F_ADDR) {
		buf_init(&nv, 2 * MSG_FIELD_MAX);
		q = qualify_field(r, f, flags, &nv);
		if (q == -1) {
			buf_release(&nv);
			return -1;
		}
		if (q == 1) {
			size_t head = (size_t)(f->value - f->raw);
			struct buf folded;

			/* Unlimited: it holds a field and nv, both capped. */
			buf_init(&folded, 0);
			buf_add(&folded, f->raw, head);
			buf_add(&folded, nv.data, nv.len);
			buf_release(&nv);
			if (refold(&folded, r->e) == -1 ||
			    w_add(r, folded.data, folded.len) == -1 ||
			    w_add(r, "\r\n", 2) == -1) {
				buf_release(&folded);
				return -1;
			}
			buf_release(&folded);
			return 0;
		}
		buf_release(&nv);
	}
	if (w_add(r, f->raw, f->rawlen) == -1 || w_add(r, "\r\n", 2) == -1)
		return -1;
	return 0;
}

/* The envelope sender: -f, else the account's from, else From:, else
   user@domain. */
static int
decide_sender(struct reader *r)
{
	const struct msg_params *p = r->p;
	const struct account *a = p->acct;
	struct strv res = { NULL, 0 };
	int fixed = a != NULL && a->from != NULL && !a->allow_from_override;

	if (p->sender != NULL && !fixed) {
		if (msg_resolve(p, p->sender, 1, &res, r->e) == -1)
			return -1;
		envelope_set(&r->env->sender, res.v[0]);
		strv_free(&res);
	} else if (a != NULL && a->from != NULL && conf_from_has_f(a->from)) {
		/* from %F: the address of the From header. */
		if (r->from_addr == NULL)
			return err_set(r->e, ERR_DATA, "account '%s' takes the "
			    "sender from the From header (from %%F), and the "
			    "message has none", a->name != NULL ? a->name :
			    "");
		free(r->env->sender);
		r->env->sender = conf_from_expand(a->from, r->from_addr);
	} else if (a != NULL && a->from != NULL &&
	    strpbrk(a->from, "*?[") == NULL) {
		envelope_set(&r->env->sender, a->from);
	} else if (r->from_addr != NULL) {
		envelope_set(&r->env->sender, r->from_addr);
	} else {
		r->env->sender = xasprintf("%s@%s",
		    p->user != NULL ? p->user : "root", msg_domain(p));
	}
	if (r->env->sender[0] != '\0' && !addr_valid_spec(r->env->sender, 0))
		return err_set(r->e, p->sender != NULL ? ERR_USAGE : ERR_DATA,
		    "invalid sender address '%s'", r->env->sender);
	return 0;
}

static int
add_date(struct reader *r)
{
	char date[64];
	struct tm tm;
	time_t now = r->p->now ? r->p->now : time(NULL);

	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	return w_adds(r, "Date: ") == -1 || w_adds(r, date) == -1 ||
	    w_adds(r, "\r\n") == -1 ? -1 : 0;
}

static int
add_message_id(struct reader *r)
{
	char rnd[17], *id;
	time_t now = r->p->now ? r->p->now : time(NULL);
	int rv;

	if (rand_alnum(rnd, 16) == -1)
		return err_set(r->e, ERR_SOFTWARE, "no random numbers: %s",
		    strerror(errno));
	id = xasprintf("Message-ID: <%llx.%s@%s>\r\n", (long long)now, rnd,
	    msg_domain(r->p));
	rv = w_adds(r, id);
	free(id);
	return rv;
}

static int
add_from(struct reader *r)
{
	const struct msg_params *p = r->p;
	const char *name = p->full_name;
	const char *addr = r->env->sender;
	char *fallback = NULL;
	struct buf b;
	int rv;

	if (name == NULL && p->acct != NULL)
		name = p->acct->from_full_name;
	if (addr[0] == '\0') {
		if (p->acct != NULL && p->acct->from != NULL &&
		    strpbrk(p->acct->from, "*?[") == NULL &&
		    !conf_from_has_f(p->acct->from))
			addr = p->acct->from;
		else
			addr = NULL;
	}
	buf_init(&b, MSG_FIELD_MAX);
	buf_adds(&b, "From: ");
	if (name != NULL && *name != '\0') {
		if (strpbrk(name, "\r\n") != NULL) {
			buf_release(&b);
			return err_set(r->e, ERR_USAGE, "the full name holds a "
			    "line break");
		}
		if (hdr_write_phrase(&b, name) == -1 ||
		    buf_adds(&b, " ") == -1) {
			buf_release(&b);
			return err_set(r->e, ERR_USAGE, "the full name is not "
			    "valid UTF-8 or is longer than %d octets",
			    MSG_FIELD_MAX);
		}
	}
	if (addr == NULL)
		addr = fallback = xasprintf("%s@%s", p->user ? p->user : "root",
		    msg_domain(p));
	/*
	 * An internationalised domain goes into the header as A-labels:
	 * valid whether or not the server takes SMTPUTF8.  (A non-ASCII
	 * local part has no such form; the envelope check reports it.)
	 */
	if (addr_is_utf8(addr)) {
		struct err ignore;
		char *ascii;

		if (addr_to_ascii(addr, &ascii, &ignore) == 0) {
			free(fallback);
			addr = fallback = ascii;
		}
	}
	if ((name != NULL && *name != '\0' ? buf_printf(&b, "<%s>\r\n",
	    addr) : buf_printf(&b, "%s\r\n", addr)) == -1) {
		free(fallback);
		buf_release(&b);
		return err_set(r->e, ERR_USAGE, "the From header posthorn adds "
		    "would be longer than %d octets", MSG_FIELD_MAX);
	}
	free(fallback);
	rv = w_add(r, b.data, b.len);
	buf_release(&b);
	return rv;
}

static int	decide_recipients(struct reader *);

/*
 * set_to_header on: one To header naming every envelope recipient (the
 * Bcc ones too, as msmtp writes it), folded.
 */
static int
add_to(struct reader *r)
{
	struct buf b;
	size_t i;
	int rv;

	buf_init(&b, 0);
	buf_adds(&b, "To: ");
	for (i = 0; i < r->env->nrcpt; i++) {
		if (i > 0)
			buf_adds(&b, ", ");
		buf_adds(&b, r->env->rcpt[i].addr);
	}
	if (refold(&b, r->e) == -1) {
		buf_release(&b);
		return -1;
	}
	rv = w_add(r, b.data, b.len) == -1 || w_add(r, "\r\n", 2) == -1 ?
	    -1 : 0;
	buf_release(&b);
	return rv;
}

/* Called once, when the header section ends (or input ends inside it). */
static int
finish_headers(struct reader *r)
{
	const struct account *a = r->p->acct;

	if (decide_sender(r) == -1 || decide_recipients(r) == -1)
		return -1;
	if ((!r->seen_from && (a == NULL ||
	    a->set_from_header != SETFROM_OFF)) ||
	    (a != NULL && a->set_from_header == SETFROM_ON))
		if (add_from(r) == -1)
			return -1;
	if (!r->seen_date && (a == NULL || a->set_date_header))
		if (add_date(r) == -1)
			return -1;
	if (!r->seen_msgid && (a == NULL || a->set_msgid_header) &&
	    add_message_id(r) == -1)
		return -1;
	if (a != NULL && a->set_to_header == SETTO_UNDISCLOSED &&
	    w_adds(r, "To: undisclosed-recipients:;\r\n") == -1)
		return -1;
	if (a != NULL && a->set_to_header == SETTO_ON && add_to(r) == -1)
		return -1;
	return 0;
}

static int
body_line(struct reader *r, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		r->body_hi |= (unsigned char)s[i];
	if (n > MSG_LINE_MAX)
		r->env->long_lines = 1;
	if (w_add(r, s, n) == -1 || w_add(r, "\r\n", 2) == -1)
		return -1;
	return 0;
}

static int
to_body(struct reader *r)
{
	if (finish_headers(r) == -1 || w_add(r, "\r\n", 2) == -1)
		return -1;
	r->phase = PH_BODY;
	return 0;
}

/* One complete line of the header section (without its line end). */
static int
header_line(struct reader *r, const char *s, size_t n)
{
	struct hdr_field f;
	enum hdr_event ev;

	if (r->phase == PH_FIRST) {
		r->phase = PH_HEADERS;
		if (n >= 5 && memcmp(s, "From ", 5) == 0)
			return 0;
	}
	r->pushed++;
	if (hdr_reader_push(&r->hr, s, n, r->e) == -1)
		return -1;
	while ((ev = hdr_reader_pull(&r->hr, &f)) != HDR_NONE) {
		switch (ev) {
		case HDR_FIELD:
			if (handle_field(r, &f) == -1)
				return -1;
			break;
		case HDR_END:
			return to_body(r);
		case HDR_BODY:
			if (to_body(r) == -1)
				return -1;
			return body_line(r, s, n);
		case HDR_NONE:
			break;
		}
	}
	return 0;
}

/*
 * A header-phase line grew past 998 octets.  If it is a header field (or
 * a continuation) that is malformed input; otherwise the message simply
 * has no header section and this is a long first body line.
 */
static int
header_overflow(struct reader *r)
{
	const char *s = r->line.data;
	size_t n = r->line.len;

	if (r->phase == PH_FIRST && n >= 5 && memcmp(s, "From ", 5) == 0)
		goto bad;
	if (hdr_name_len(s, n) > 0 || s[0] == ' ' || s[0] == '\t')
		goto bad;
	if (r->pushed > 0)
		goto bad;
	if (r->phase == PH_FIRST)
		r->phase = PH_HEADERS;
	if (to_body(r) == -1)
		return -1;
	r->body_hi = 0;
	for (size_t i = 0; i < n; i++)
		r->body_hi |= (unsigned char)s[i];
	r->body_linelen = n;
	if (w_add(r, s, n) == -1)
		return -1;
	buf_reset(&r->line);
	return 0;
bad:
	return err_set(r->e, ERR_DATA,
	    "header line %lu is longer than %d octets", r->lineno + 1,
	    MSG_LINE_MAX);
}

/*
 * Length of the run at p that holds no CR, LF or NUL; *acc gets 0x80 if
 * a byte of it has the high bit set.  Eight bytes at a time: a body is
 * mostly long runs, and this is the one loop that sees every byte.
 */
static size_t
scan_run(const unsigned char *p, size_t n, unsigned char *acc)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	uint64_t w, x, found, hi = 0;
	size_t i = 0;
	unsigned char c, bytes = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		/* A byte equal to 0, CR or LF makes (x - 1) & ~x set its top
		   bit, x being w with that value xor'ed out. */
		found = ((w - ones) & ~w);
		x = w ^ (ones * '\r');
		found |= (x - ones) & ~x;
		x = w ^ (ones * '\n');
		found |= (x - ones) & ~x;
		if (found & highs)
			break;
		hi |= w;
	}
	for (; i < n; i++) {
		c = p[i];
		if (c <= '\r' && (c == '\r' || c == '\n' || c == '\0'))
			break;
		bytes |= c;
	}
	*acc = ((hi & highs) != 0 || (bytes & 0x80)) ? 0x80 : 0;
	return i;
}

/*
 * A CR that is not followed by LF in the header section.  In the body it
 * ends a line, as it always did (it is sent as CRLF).  In the header
 * section it would end a field and start another: with -t that can add a
 * header, and a Bcc recipient, that the caller never wrote as a line of
 * its own (RFC 5322 2.2 does not allow a CR there at all).  So a line
 * that is (or begins) a header field, continues one, or is the empty
 * line that ends the section is refused; a line that is no header line
 * (the first body line of a message without a header section) is body.
 */
static int
bare_cr(struct reader *r)
{
	const char *s = r->line.data != NULL ? r->line.data : "";
	size_t n = r->line.len;

	if (n == 0 || hdr_name_len(s, n) > 0 ||
	    ((s[0] == ' ' || s[0] == '\t') && r->pushed > 0))
		return err_set(r->e, ERR_DATA, "header line %lu has a carriage "
		    "return (CR) that does not end the line; a header field "
		    "cannot hold one, and posthorn does not make it a line "
		    "break", r->lineno + 1);
	return 0;
}

/* Ends the current header-section line (its line end was seen). */
static int
end_header_line(struct reader *r)
{
	r->lineno++;
	if (header_line(r, r->line.data ? r->line.data : "",
	    r->line.len) == -1)
		return -1;
	buf_reset(&r->line);
	return 0;
}

static int
feed(struct reader *r, const char *p, size_t n)
{
	size_t i = 0, j;
	unsigned char c, acc = 0;

	if (r->hdr_cr && n > 0) {
		/* The block before ended in CR, in the header section. */
		r->hdr_cr = 0;
		if (p[0] == '\n') {
			if (end_header_line(r) == -1)
				return -1;
			i = 1;
		} else {
			if (bare_cr(r) == -1)
				return -1;
			if (end_header_line(r) == -1)
				return -1;
		}
	}
	while (i < n) {
		if (r->cr) {
			r->cr = 0;
			if (p[i] == '\n') {
				i++;
				continue;
			}
		}
		/* The run up to the next CR, LF or NUL. */
		j = i + scan_run((const unsigned char *)p + i, n - i, &acc);
		if (r->phase == PH_BODY) {
			r->body_hi |= acc;
			r->body_linelen += j - i;
			if (j > i && w_add(r, p + i, j - i) == -1)
				return -1;
		} else if (j > i) {
			if (buf_add(&r->line, p + i, j - i) == -1) {
				/* Over the cap: keep what fits, then judge. */
				size_t room = r->line.max - r->line.len;

				buf_add(&r->line, p + i, room);
				if (header_overflow(r) == -1)
					return -1;
				r->body_linelen += (j - i) - room;
				for (size_t k = i + room; k < j; k++)
					r->body_hi |= (unsigned char)p[k];
				if (w_add(r, p + i + room, j - i - room) == -1)
					return -1;
			}
		}
		if (j == n)
			break;
		c = (unsigned char)p[j];
		if (c == '\0')
			return err_set(r->e, ERR_DATA,
			    "the message has a NUL byte (line %lu)",
			    r->lineno + 1);
		if (r->phase != PH_BODY && c == '\r') {
			/* CR must come with LF here; the LF may be in the
			   next block. */
			if (j + 1 == n) {
				r->hdr_cr = 1;
				return 0;
			}
			if (p[j + 1] != '\n' && bare_cr(r) == -1)
				return -1;
			if (end_header_line(r) == -1)
				return -1;
			i = j + (p[j + 1] == '\n' ? 2 : 1);
			continue;
		}
		if (r->phase == PH_BODY) {
			r->lineno++;
			if (r->body_linelen > MSG_LINE_MAX)
				r->env->long_lines = 1;
			r->body_linelen = 0;
			if (w_add(r, "\r\n", 2) == -1)
				return -1;
		} else if (end_header_line(r) == -1)
			return -1;
		if (c == '\r')
			r->cr = 1;
		i = j + 1;
	}
	return 0;
}

/* Input ended. */
static int
finish_input(struct reader *r)
{
	struct hdr_field f;
	enum hdr_event ev;

	/* A CR that ends the input ends its line. */
	r->hdr_cr = 0;
	if (r->phase != PH_BODY && r->line.len > 0) {
		if (header_line(r, r->line.data, r->line.len) == -1)
			return -1;
		buf_reset(&r->line);
	}
	if (r->phase != PH_BODY) {
		hdr_reader_finish(&r->hr);
		while ((ev = hdr_reader_pull(&r->hr, &f)) != HDR_NONE) {
			if (ev == HDR_FIELD && handle_field(r, &f) == -1)
				return -1;
		}
		if (finish_headers(r) == -1)
			return -1;
	} else if (r->body_linelen > 0) {
		if (r->body_linelen > MSG_LINE_MAX)
			r->env->long_lines = 1;
		if (w_add(r, "\r\n", 2) == -1)
			return -1;
	}
	return w_flush(r);
}

/* ------------------------------------------------------- recipients */

/*
 * The key a recipient is known by, as envelope_add_rcpt compares: the
 * local part exactly, the domain without regard to case.  Caller frees.
 */
static char *
rcpt_key(const char *addr)
{
	char *k = xstrdup(addr), *at = strrchr(k, '@');

	if (at != NULL)
		str_lower(at);
	return k;
}

/*
 * Adds a recipient unless the same address is there already; NULL for a
 * duplicate.  A hash set, not envelope_add_rcpt's search of the list, so
 * that -t with 100,000 recipients takes a second, not minutes.
 */
static struct rcpt *
rcpt_add(struct reader *r, const char *addr)
{
	char *key = rcpt_key(addr);
	struct rcpt *rc;
	int fresh = strset_add(&r->rseen, key, strlen(key));

	free(key);
	if (!fresh)
		return NULL;
	if (r->rn == r->rcap) {
		r->rcap = r->rcap ? 2 * r->rcap : 16;
		r->rv = xreallocarray(r->rv, r->rcap, sizeof(*r->rv));
	}
	rc = &r->rv[r->rn++];
	memset(rc, 0, sizeof(*rc));
	rc->addr = xstrdup(addr);
	return rc;
}

/* Hands the recipients over to the envelope (after any it had). */
static void
rcpt_commit(struct reader *r)
{
	struct envelope *env = r->env;

	if (r->rn == 0)
		return;
	env->rcpt = xreallocarray(env->rcpt, env->nrcpt + r->rn,
	    sizeof(*env->rcpt));
	memcpy(env->rcpt + env->nrcpt, r->rv, r->rn * sizeof(*r->rv));
	env->nrcpt += r->rn;
	free(r->rv);
	r->rv = NULL;
	r->rn = r->rcap = 0;
}

/* Frees recipients not handed over (on failure). */
static void
rcpt_release(struct reader *r)
{
	size_t i;

	for (i = 0; i < r->rn; i++) {
		free(r->rv[i].addr);
		free(r->rv[i].notify);
		free(r->rv[i].orcpt);
	}
	free(r->rv);
	r->rv = NULL;
	r->rn = r->rcap = 0;
	strset_release(&r->rseen);
}

static int
add_rcpt_words(struct reader *r, const char *word, enum err_kind bad)
{
	const struct msg_params *p = r->p;
	const char *notify = p->dsn_notify;
	struct addr_list l;
	struct strv res = { NULL, 0 };
	size_t i, k;

	if (notify == NULL && p->acct != NULL && p->acct->dsn_notify != NULL)
		notify = p->acct->dsn_notify;
	addr_list_init(&l);
	if (addr_parse_list(word, strlen(word), &l, r->e) == -1) {
		addr_list_release(&l);
		r->e->kind = bad;
		return err_prefix(r->e, "recipient '%s': ", word);
	}
	for (i = 0; i < l.n; i++) {
		char *spec = addr_spec(&l.v[i]);

		if (spec[0] == '\0') {
			free(spec);
			continue;
		}
		if (msg_resolve(p, spec, 0, &res, r->e) == -1) {
			free(spec);
			goto fail;
		}
		for (k = 0; k < res.n; k++) {
			struct rcpt *rc;

			if (!addr_valid_spec(res.v[k], 0)) {
				err_set(r->e, bad, "invalid recipient "
				    "address '%s'", res.v[k]);
				free(spec);
				goto fail;
			}
			rc = rcpt_add(r, res.v[k]);
			if (rc == NULL)
				continue;
			if (notify != NULL && strcasecmp(notify, "off") != 0) {
				/* NOTIFY= takes upper case (the config keeps
				   msmtp's lower-case spelling). */
				rc->notify = str_upper(xstrdup(notify));
			}
			/* An alias rewrote it: ORCPT keeps the original,
			   qualified as every address is. */
			if (strcmp(res.v[k], spec) != 0) {
				if (strchr(spec, '@') != NULL)
					rc->orcpt = xstrdup(spec);
				else
					rc->orcpt = xasprintf("%s@%s", spec,
					    msg_domain(p));
				if (strcmp(rc->orcpt, rc->addr) == 0) {
					free(rc->orcpt);
					rc->orcpt = NULL;
				}
			}
		}
		strv_free(&res);
		free(spec);
	}
	addr_list_release(&l);
	return 0;
fail:
	strv_free(&res);
	addr_list_release(&l);
	return -1;
}

static int
decide_recipients(struct reader *r)
{
	const struct msg_params *p = r->p;
	const struct strv *hdr;
	size_t i;

	/* Recipients the envelope has already are not added again. */
	for (i = 0; i < r->env->nrcpt; i++) {
		char *key = rcpt_key(r->env->rcpt[i].addr);

		(void)strset_add(&r->rseen, key, strlen(key));
		free(key);
	}
	for (i = 0; p->rcpts != NULL && i < p->rcpts->n; i++)
		if (add_rcpt_words(r, p->rcpts->v[i], ERR_USAGE) == -1)
			return -1;
	if (p->read_recipients) {
		hdr = r->resent != RS_NONE ? &r->resent_rcpt : &r->hdr_rcpt;
		for (i = 0; i < hdr->n; i++)
			if (add_rcpt_words(r, hdr->v[i], ERR_DATA) == -1)
				return -1;
	}
	rcpt_commit(r);
	if (r->env->nrcpt == 0)
		return err_set(r->e, ERR_DATA, "no recipients%s",
		    p->read_recipients ? " (none on the command line, none "
		    "in the To, Cc or Bcc headers)" : " given (name them on "
		    "the command line or use -t)");
	return 0;
}

/* ------------------------------------------------------------- main */

/* The plain source: a file descriptor. */
static long
fd_read(void *arg, char *buf, size_t n, struct err *e)
{
	ssize_t r = fsio_read_wait(*(int *)arg, buf, n);

	if (r == -1)
		return err_set(e, ERR_IO, "cannot read the message: %s",
		    strerror(errno));
	return (long)r;
}

int
msg_peek_header(int in, struct buf *pre, struct err *e)
{
	char chunk[8192];
	ssize_t r;
	size_t from;

	buf_init(pre, MSG_PEEK_MAX);
	for (;;) {
		/* Look back far enough to see a blank line across chunks. */
		from = pre->len > 3 ? pre->len - 3 : 0;
		if ((r = fsio_read_wait(in, chunk, sizeof(chunk))) == -1) {
			buf_release(pre);
			return err_set(e, ERR_IO, "cannot read the message: %s",
			    strerror(errno));
		}
		if (r == 0)
			return 0;
		if (buf_add(pre, chunk, (size_t)r) == -1) {
			buf_release(pre);
			return err_set(e, ERR_SOFTWARE, "buffer cap");
		}
		if (memmem(pre->data + from, pre->len - from, "\n\n", 2) !=
		    NULL || memmem(pre->data + from, pre->len - from,
		    "\n\r\n", 3) != NULL || pre->len + sizeof(chunk) >
		    MSG_PEEK_MAX)
			return 0;
	}
}

int
msg_sender_of(const char *buf, size_t len, char **addr)
{
	struct hdr_reader hr;
	struct hdr_field f;
	struct addr_list l;
	struct err ignore;
	enum hdr_event ev;
	size_t pos = 0, n, next;
	const char *eol;
	int seen_from = 0, done = 0, first = 1;

	*addr = NULL;
	hdr_reader_init(&hr, MSG_FIELD_MAX);
	while (pos < len && !done) {
		eol = memchr(buf + pos, '\n', len - pos);
		if (eol == NULL)
			break;	/* a line cut by the cap: not used */
		n = (size_t)(eol - (buf + pos));
		next = pos + n + 1;
		if (n > 0 && buf[pos + n - 1] == '\r')
			n--;
		if (first && n >= 5 && memcmp(buf + pos, "From ", 5) == 0) {
			first = 0;
			pos = next;
			continue;
		}
		first = 0;
		if (hdr_reader_push(&hr, buf + pos, n, &ignore) == -1)
			break;
		while (!done && (ev = hdr_reader_pull(&hr, &f)) != HDR_NONE) {
			int rfrom = hdr_is(&f, "resent-from");

			if (ev != HDR_FIELD) {
				done = 1;
				break;
			}
			if (!hdr_is(&f, "from") && !(rfrom && !seen_from))
				continue;
			if (!rfrom)
				seen_from = 1;
			if (*addr != NULL)
				continue;
			addr_list_init(&l);
			if (addr_parse_list(f.value, f.valuelen, &l,
			    &ignore) == 0 && l.n > 0 &&
			    l.v[0].local[0] != '\0')
				*addr = addr_spec(&l.v[0]);
			addr_list_release(&l);
		}
		pos = next;
	}
	if (!done) {
		hdr_reader_finish(&hr);
		while ((ev = hdr_reader_pull(&hr, &f)) == HDR_FIELD)
			if (*addr == NULL && (hdr_is(&f, "from") ||
			    (!seen_from && hdr_is(&f, "resent-from")))) {
				addr_list_init(&l);
				if (addr_parse_list(f.value, f.valuelen, &l,
				    &ignore) == 0 && l.n > 0 &&
				    l.v[0].local[0] != '\0')
					*addr = addr_spec(&l.v[0]);
				addr_list_release(&l);
			}
	}
	hdr_reader_release(&hr);
	return *addr != NULL ? 0 : -1;
}

/* The source of msg_read_prefixed: the bytes read ahead, then the fd. */
struct prefixed {
	const char	*pre;
	size_t		 len, pos;
	int		 fd;
};

static long
prefixed_read(void *arg, char *buf, size_t n, struct err *e)
{
	struct prefixed *x = arg;
	size_t k;

	if (x->pos < x->len) {
		k = x->len - x->pos < n ? x->len - x->pos : n;
		memcpy(buf, x->pre + x->pos, k);
		x->pos += k;
		return (long)k;
	}
	return fd_read(&x->fd, buf, n, e);
}

int
msg_read_prefixed(int in, const char *pre, size_t len,
    const struct msg_params *p, int out, struct envelope *env,
    struct err *e)
{
	struct prefixed x = { pre, len, 0, in };
	struct msg_source src = { prefixed_read, &x };

	return msg_read_source(&src, p, out, env, e);
}

int
msg_read(int in, const struct msg_params *p, int out, struct envelope *env,
    struct err *e)
{
	struct msg_source src = { fd_read, &in };

	return msg_read_source(&src, p, out, env, e);
}

int
msg_read_source(const struct msg_source *src, const struct msg_params *p,
    int out, struct envelope *env, struct err *e)
{
	struct reader r;
	char *block;
	long n;
	size_t i;
	int rv = -1;

	memset(&r, 0, sizeof(r));
	strset_init(&r.rseen);
	r.p = p;
	r.env = env;
	r.e = e;
	r.w.fd = out;
	r.w.buf = xmalloc(MSG_READ_BLOCK);
	hdr_reader_init(&r.hr, MSG_FIELD_MAX);
	buf_init(&r.line, MSG_LINE_MAX);
	block = xmalloc(MSG_READ_BLOCK);
	env->created = p->now ? p->now : time(NULL);

	for (;;) {
		n = src->read(src->arg, block, MSG_READ_BLOCK, e);
		if (n == -1)
			goto out;
		if (n == 0)
			break;
		if (feed(&r, block, (size_t)n) == -1)
			goto out;
	}
	if (finish_input(&r) == -1)
		goto out;

	env->size = r.w.total;
	/*
	 * 8-bit header fields make the message 8-bit too (as Postfix's
	 * cleanup sees it): a server without 8BITMIME then gets the 7-bit
	 * downgrade, which encodes them (RFC 2047) or refuses the message.
	 */
	env->body = ((r.body_hi | r.hdr_hi) & 0x80) ? BODY_8BITMIME :
	    BODY_7BIT;
	if (p->body_forced) {
		env->body_forced = 1;
		if (p->body == BODY_8BITMIME)
			env->body = BODY_8BITMIME;
	}
	env->smtputf8 = (r.hdr_hi & 0x80) != 0 ||
	    addr_is_utf8(env->sender);
	for (i = 0; i < env->nrcpt; i++)
		if (addr_is_utf8(env->rcpt[i].addr))
			env->smtputf8 = 1;
	envelope_set(&env->dsn_ret, p->dsn_ret);
	if (env->dsn_ret == NULL && p->acct != NULL &&
	    p->acct->dsn_return != NULL &&
	    strcasecmp(p->acct->dsn_return, "off") != 0)
		env->dsn_ret = xstrdup(strcasecmp(p->acct->dsn_return,
		    "headers") == 0 ? "HDRS" : "FULL");
	envelope_set(&env->dsn_envid, p->dsn_envid);
	rv = 0;
out:
	free(block);
	free(r.w.buf);
	free(r.from_addr);
	hdr_reader_release(&r.hr);
	buf_release(&r.line);
	strv_free(&r.hdr_rcpt);
	strv_free(&r.resent_rcpt);
	rcpt_release(&r);
	return rv;
}
