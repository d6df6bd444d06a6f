/*
 * smtp_reply owns the grammar of what an SMTP server says: a reply is
 * pushed one line at a time and checked as strictly as OpenSMTPD's client
 * checks it (three digits from 2xx to 5xx, the same code on every line,
 * ' ' or '-' or nothing after the code, printable text, capped line
 * length, line count and total text), the RFC 3463 enhanced status code
 * of the first line is taken apart, and the lines of an EHLO reply are
 * turned into capability flags.  No I/O and no globals: lines in,
 * structures out.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "smtp_reply.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/str.h"

/* Bytes of a bad line quoted in an error message. */
#define REPLY_QUOTE_MAX	40

/* Longest SASL mechanism name (RFC 4422, section 3.1). */
#define SASL_MECH_MAX	20

static const struct {
	const char	*name;
	unsigned	 flag;
} reply_caps[] = {
	{ "PIPELINING",		CAP_PIPELINING },
	{ "SIZE",		CAP_SIZE },
	{ "8BITMIME",		CAP_8BITMIME },
	{ "SMTPUTF8",		CAP_SMTPUTF8 },
	{ "DSN",		CAP_DSN },
	{ "CHUNKING",		CAP_CHUNKING },
	{ "BINARYMIME",		CAP_BINARYMIME },
	{ "STARTTLS",		CAP_STARTTLS },
	{ "AUTH",		CAP_AUTH },
	{ "ENHANCEDSTATUSCODES", CAP_ENHANCEDSTATUSCODES },
	{ "REQUIRETLS",		CAP_REQUIRETLS },
};

static int
reply_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

/*
 * The start of a bad line, safe to print: printable ASCII kept, anything
 * else '?', "..." when cut.
 */
static void
reply_quote(char *out, size_t outsz, const char *line, size_t len)
{
	size_t i, n = len < REPLY_QUOTE_MAX ? len : REPLY_QUOTE_MAX;
	size_t o = 0;

	for (i = 0; i < n && o + 4 < outsz; i++) {
		unsigned char c = (unsigned char)line[i];

		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (i < len && o + 3 < outsz) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

static int
reply_error(struct err *e, const char *line, size_t len, const char *why)
{
	char q[REPLY_QUOTE_MAX + 8];

	reply_quote(q, sizeof(q), line, len);
	return err_set(e, ERR_PROTOCOL, "malformed server reply '%s': %s", q,
	    why);
}

/*
 * Length of an RFC 3463 enhanced status code of class cls at the start of
 * s (class "." 1*3digit "." 1*3digit, then a space or the end), or 0.
 */
static size_t
reply_status_len(const char *s, size_t n, int cls)
{
	size_t i, d;
	int part;

	if (cls != 2 && cls != 4 && cls != 5)
		return 0;
	if (n < 5 || s[0] != '0' + cls || s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (d = 0; i < n && d < 4 && reply_isdigit(s[i]); d++)
			i++;
		if (d == 0 || d > 3)
			return 0;
		if (part == 0) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < n && s[i] != ' ')
		return 0;
	return i;
}

void
smtp_reply_init(struct smtp_reply *r)
{
	r->code = 0;
	r->status[0] = '\0';
	buf_init(&r->text, SMTP_REPLY_TEXT_MAX);
	r->nlines = 0;
	r->done = 0;
}

void
smtp_reply_release(struct smtp_reply *r)
{
	buf_release(&r->text);
	smtp_reply_init(r);
}

void
smtp_reply_reset(struct smtp_reply *r)
{
	r->code = 0;
	r->status[0] = '\0';
	buf_reset(&r->text);
	r->nlines = 0;
	r->done = 0;
}

int
smtp_reply_push(struct smtp_reply *r, const char *line, size_t len,
    struct err *e)
{
	const char *text;
	size_t tlen, i, sl;
	int code, last;

	if (r->done)
		return err_set(e, ERR_SOFTWARE,
		    "reply line pushed after the reply was complete");
	if (len > SMTP_REPLY_LINE_MAX)
		return reply_error(e, line, len, "line too long");
	if (len < 3 || !reply_isdigit(line[0]) || !reply_isdigit(line[1]) ||
	    !reply_isdigit(line[2]))
		return reply_error(e, line, len, "no three-digit code");
	if (line[0] < '2' || line[0] > '5')
		return reply_error(e, line, len, "code out of range");
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (len == 3 || line[3] == ' ')
		last = 1;
	else if (line[3] == '-')
		last = 0;
	else
		return reply_error(e, line, len,
		    "no space or '-' after the code");
	if (r->nlines > 0 && code != r->code)
		return reply_error(e, line, len,
		    "code differs from the reply's first line");
	if (r->nlines >= SMTP_REPLY_LINES_MAX)
		return reply_error(e, line, len, "too many lines");

	text = len > 3 ? line + 4 : line + 3;
	tlen = len > 3 ? len - 4 : 0;
	for (i = 0; i < tlen; i++) {
		unsigned char c = (unsigned char)text[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return reply_error(e, line, len,
			    "control character in text");
	}

	if (r->nlines == 0) {
		sl = reply_status_len(text, tlen, code / 100);
		if (sl > 0 && sl < sizeof(r->status)) {
			memcpy(r->status, text, sl);
			r->status[sl] = '\0';
		}
	}
	sl = strlen(r->status);
	if (sl > 0 && tlen >= sl && memcmp(text, r->status, sl) == 0 &&
	    (tlen == sl || text[sl] == ' ')) {
		text += sl;
		tlen -= sl;
		if (tlen > 0) {
			text++;
			tlen--;
		}
	}

	if (r->text.len + (r->nlines > 0) + tlen > SMTP_REPLY_TEXT_MAX)
		return reply_error(e, line, len, "reply text too long");
	if (r->nlines > 0)
		buf_addc(&r->text, '\n');
	buf_add(&r->text, text, tlen);
	r->code = code;
	r->nlines++;
	r->done = last;
	return last;
}

char *
smtp_reply_line(const struct smtp_reply *r)
{
	char *out;
	size_t cap;
	int n;

	if (r->code == 0)
		return xstrdup("");
	/* The code, the status, a space, and at most the text's bytes. */
	cap = 4 + sizeof(r->status) + 1 + r->text.len + 1;
	out = xmalloc(cap);
	n = snprintf(out, cap, "%d%s%s", r->code, r->status[0] ? " " : "",
	    r->status);
	if (n < 0 || (size_t)n >= cap || r->text.len == 0)
		return out;
	out[n] = ' ';
	str_oneline(out + n + 1, cap - (size_t)n - 1, r->text.data,
	    r->text.len);
	if (out[n + 1] == '\0')
		out[n] = '\0';
	return out;
}

void
smtp_reply_oneline(const struct smtp_reply *r, char *out, size_t outsz)
{
	char *line;
	size_t n, k;

	if (outsz == 0)
		return;
	line = smtp_reply_line(r);
	n = strlen(line);
	if (n < outsz) {
		memcpy(out, line, n + 1);
		free(line);
		return;
	}
	/* Cut, and say so: at a character boundary, then "...". */
	k = outsz > 4 ? outsz - 4 : outsz - 1;
	while (k > 0 && ((unsigned char)line[k] & 0xc0) == 0x80)
		k--;
	while (k > 0 && line[k - 1] == ' ')
		k--;
	memcpy(out, line, k);
	if (outsz > 4) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
	free(line);
}

/* Adds one SASL mechanism name, upper case, unless bad or known. */
static void
caps_auth_add(struct smtp_caps *caps, const char *m, size_t n)
{
	char up[SASL_MECH_MAX + 1];
	size_t i, len;

	if (n == 0 || n > SASL_MECH_MAX)
		return;
	for (i = 0; i < n; i++) {
		char c = m[i];

		if (c >= 'a' && c <= 'z')
			c -= 'a' - 'A';
		if (!((c >= 'A' && c <= 'Z') || reply_isdigit(c) ||
		    c == '-' || c == '_'))
			return;
		up[i] = c;
	}
	up[n] = '\0';
	if (smtp_caps_has_auth(caps, up))
		return;
	len = strlen(caps->auth);
	if (len + (len > 0) + n + 1 > sizeof(caps->auth)) {
		/* Not dropped in silence: the caller refuses the list. */
		caps->auth_overflow = 1;
		return;
	}
	if (len > 0)
		caps->auth[len++] = ' ';
	memcpy(caps->auth + len, up, n + 1);
}

/* Adds every space-separated mechanism of p (n bytes). */
static void
caps_auth_list(struct smtp_caps *caps, const char *p, size_t n)
{
	size_t i = 0, start;

	while (i < n) {
		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		start = i;
		while (i < n && p[i] != ' ' && p[i] != '\t')
			i++;
		if (i > start)
			caps_auth_add(caps, p + start, i - start);
	}
}

/* A SIZE argument: decimal digits only, else 0 (no limit known). */
static unsigned long long
caps_size(const char *p, size_t n)
{
	unsigned long long v = 0;
	size_t i = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == n)
		return 0;
	for (; i < n && p[i] != ' ' && p[i] != '\t'; i++) {
		unsigned d = (unsigned)(p[i] - '0');

		if (!reply_isdigit(p[i]) || v > (~0ULL - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	return v;
}

/* One EHLO line after the greeting: keyword, then parameters. */
static void
caps_line(struct smtp_caps *caps, const char *p, size_t n)
{
	size_t i = 0, kw, klen;
	size_t k;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	kw = i;
	while (i < n && p[i] != ' ' && p[i] != '\t')
		i++;
	klen = i - kw;
	if (klen > 5 && str_caseprefix(p + kw, "AUTH=")) {
		/* The pre-RFC 2554 form some servers still send. */
		caps->flags |= CAP_AUTH;
		caps_auth_add(caps, p + kw + 5, klen - 5);
		caps_auth_list(caps, p + i, n - i);
		return;
	}
	for (k = 0; k < sizeof(reply_caps) / sizeof(reply_caps[0]); k++)
		if (str_caseeqn(p + kw, klen, reply_caps[k].name))
			break;
	if (k == sizeof(reply_caps) / sizeof(reply_caps[0]))
		return;
	caps->flags |= reply_caps[k].flag;
	if (reply_caps[k].flag == CAP_SIZE)
		caps->size_max = caps_size(p + i, n - i);
	else if (reply_caps[k].flag == CAP_AUTH)
		caps_auth_list(caps, p + i, n - i);
}

void
smtp_caps_parse(const struct smtp_reply *ehlo, struct smtp_caps *caps)
{
	const char *p, *end, *nl;

	memset(caps, 0, sizeof(*caps));
	if (ehlo->text.len == 0 || ehlo->text.data == NULL)
		return;
	p = ehlo->text.data;
	end = p + ehlo->text.len;
	/* The first line is the greeting ("mail.example.org Hello x"). */
	nl = memchr(p, '\n', (size_t)(end - p));
	while (nl != NULL) {
		p = nl + 1;
		nl = memchr(p, '\n', (size_t)(end - p));
		caps_line(caps, p, (size_t)((nl != NULL ? nl : end) - p));
	}
}

int
smtp_caps_has_auth(const struct smtp_caps *caps, const char *mech)
{
	const char *p = caps->auth, *sp;
	size_t n;

	while (*p != '\0') {
		sp = strchr(p, ' ');
		n = sp != NULL ? (size_t)(sp - p) : strlen(p);
		if (str_caseeqn(p, n, mech))
			return 1;
		if (sp == NULL)
			break;
		p = sp + 1;
	}
	return 0;
}
