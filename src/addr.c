/*
 * addr owns the RFC 5322 address grammar: address lists with groups,
 * display names (obsolete phrases with dots included), angle addresses
 * with obsolete routes, quoted and dotted local parts, domains and domain
 * literals, comments anywhere, and the unqualified addresses ("root",
 * "<root>") a local sendmail must accept.  The parser walks the input once
 * with an index, never recursing (comment nesting is counted and capped),
 * and records exact offsets so a caller can qualify or replace an address
 * in place.  It also writes and checks the envelope form of an address.
 */
#include "config.h"

#include <idn2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "util/alloc.h"
#include "util/buf.h"

/* Deeper comment nesting than this is refused rather than counted on. */
#define ADDR_COMMENT_DEPTH	64
/* Bytes of input quoted in an error message. */
#define ADDR_SNIPPET		40

struct parser {
	const char	*s;
	size_t		 len;
	size_t		 pos;
	size_t		 start;		/* first byte of the current member */
	struct err	*e;
};

/*
 * The words read before the parser knows whether they are a display name
 * or a local part: both readings are built as it goes.
 */
struct words {
	struct buf	 disp;		/* display reading */
	struct buf	 local;		/* local-part reading */
	size_t		 first;		/* offset of the first word or dot */
	size_t		 last;		/* offset just past the last one */
	int		 nwords;
	int		 nitems;	/* words and dots */
	int		 adjacent;	/* two words with no dot between */
	int		 lastword;	/* the last item was a word */
};

static int
addr_is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80)
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static int
addr_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A short printable piece of the current member for messages. */
static void
addr_snippet(const struct parser *p, char *out, size_t outsz)
{
	size_t n = p->len - p->start;
	int more = 0;

	if (n > ADDR_SNIPPET) {
		n = ADDR_SNIPPET;
		/* Do not cut a UTF-8 sequence. */
		while (n > 0 &&
		    ((unsigned char)p->s[p->start + n] & 0xc0) == 0x80)
			n--;
		more = 1;
	}
	if (outsz < 4)
		return;
	if (n > outsz - 4)
		n = outsz - 4;
	memcpy(out, p->s + p->start, n);
	strcpy(out + n, more ? "..." : "");
}

static int
addr_fail(struct parser *p, const char *what)
{
	char snip[ADDR_SNIPPET + 8];

	addr_snippet(p, snip, sizeof(snip));
	return err_set(p->e, ERR_DATA, "%s in address '%s'", what, snip);
}

static int
addr_unexpected(struct parser *p)
{
	char snip[ADDR_SNIPPET + 8], what[32];
	unsigned char c = (unsigned char)p->s[p->pos];

	if (c > 0x20 && c < 0x7f)
		snprintf(what, sizeof(what), "unexpected '%c'", c);
	else
		snprintf(what, sizeof(what), "unexpected byte 0x%02x", c);
	addr_snippet(p, snip, sizeof(snip));
	return err_set(p->e, ERR_DATA, "%s in address '%s'", what, snip);
}

static int
addr_peek(const struct parser *p)
{
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

/*
 * Skips white space, line breaks and comments; *skipped says whether there
 * was any.  Comments nest; the depth is a counter, not recursion.
 */
static int
addr_skip_cfws(struct parser *p, int *skipped)
{
	size_t depth;
	unsigned char c;

	if (skipped != NULL)
		*skipped = 0;
	while (p->pos < p->len) {
		c = (unsigned char)p->s[p->pos];
		if (addr_is_wsp(c)) {
			p->pos++;
		} else if (c == '(') {
			depth = 0;
			for (;;) {
				if (p->pos >= p->len)
					return addr_fail(p,
					    "unterminated comment");
				c = (unsigned char)p->s[p->pos++];
				if (c == '\\') {
					if (p->pos >= p->len)
						return addr_fail(p,
						    "unterminated comment");
					p->pos++;
				} else if (c == '(') {
					if (++depth > ADDR_COMMENT_DEPTH)
						return addr_fail(p, "comments "
						    "nested too deeply");
				} else if (c == ')') {
					if (--depth == 0)
						break;
				}
			}
		} else
			break;
		if (skipped != NULL)
			*skipped = 1;
	}
	return 0;
}

/* Appends the content of the quoted string at p->pos to out. */
static int
addr_quoted(struct parser *p, struct buf *out)
{
	unsigned char c;

	p->pos++;
	for (;;) {
		if (p->pos >= p->len)
			return addr_fail(p, "unterminated quoted string");
		c = (unsigned char)p->s[p->pos++];
		if (c == '"')
			return 0;
		if (c == '\\') {
			if (p->pos >= p->len)
				return addr_fail(p,
				    "unterminated quoted string");
			c = (unsigned char)p->s[p->pos++];
		} else if (c == '\r' || c == '\n') {
			/* Folding: the line break goes, the blank stays. */
			if (c == '\r' && p->pos < p->len &&
			    p->s[p->pos] == '\n')
				p->pos++;
			if (p->pos < p->len && (p->s[p->pos] == ' ' ||
			    p->s[p->pos] == '\t'))
				continue;
			return addr_fail(p, "line break in quoted string");
		}
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return addr_fail(p,
			    "control character in quoted string");
		if (buf_addc(out, c) == -1)
			return addr_fail(p, "address too long");
	}
}

static void
addr_words_init(struct words *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	buf_init(&w->disp, max);
	buf_init(&w->local, max);
}

static void
addr_words_release(struct words *w)
{
	buf_release(&w->disp);
	buf_release(&w->local);
}

/*
 * Reads atoms, quoted strings and dots (with comments and white space
 * between them) into both readings, stopping at anything else.
 */
static int
addr_words(struct parser *p, struct words *w)
{
	size_t start, end, mark;
	int c, blank, isword;

	for (;;) {
		mark = p->pos;
		if (addr_skip_cfws(p, &blank) == -1)
			return -1;
		c = addr_peek(p);
		start = p->pos;
		if (c == '"') {
			if (blank && w->nitems > 0 &&
			    buf_addc(&w->disp, ' ') == -1)
				return addr_fail(p, "address too long");
			if (addr_quoted(p, &w->disp) == -1)
				return -1;
			/* Read it a second time for the local part. */
			end = p->pos;
			p->pos = start;
			if (addr_quoted(p, &w->local) == -1)
				return -1;
			p->pos = end;
			isword = 1;
		} else if (c == '.' || (c != -1 && addr_is_atext(c))) {
			end = start;
			if (c == '.')
				end++;
			else
				while (end < p->len && addr_is_atext(
				    (unsigned char)p->s[end]))
					end++;
			if ((blank && w->nitems > 0 &&
			    buf_addc(&w->disp, ' ') == -1) ||
			    buf_add(&w->disp, p->s + start, end - start) ==
			    -1 || buf_add(&w->local, p->s + start,
			    end - start) == -1)
				return addr_fail(p, "address too long");
			p->pos = end;
			isword = c != '.';
		} else {
			/* Leave the blank for the caller to skip again. */
			p->pos = mark;
			return 0;
		}
		if (w->nitems == 0)
			w->first = start;
		w->last = p->pos;
		w->nitems++;
		if (isword) {
			if (w->lastword)
				w->adjacent = 1;
			w->nwords++;
		}
		w->lastword = isword;
	}
}

/* Checks that the words read as a local part: word *("." word). */
static int
addr_check_local(struct parser *p, const struct words *w)
{
	if (w->nwords == 0)
		return addr_fail(p, "missing local part");
	if (w->adjacent)
		return addr_fail(p, "invalid local part");
	return 0;
}

/*
 * Reads the domain after "@" into dom (dots joined, comments dropped; a
 * literal keeps its brackets and loses its blanks); *end is just past it.
 */
static int
addr_domain(struct parser *p, struct buf *dom, size_t *end)
{
	size_t a, mark;
	unsigned char c;

	if (addr_skip_cfws(p, NULL) == -1)
		return -1;
	if (addr_peek(p) == '[') {
		if (buf_addc(dom, '[') == -1)
			return addr_fail(p, "address too long");
		p->pos++;
		for (;;) {
			if (p->pos >= p->len)
				return addr_fail(p,
				    "unterminated domain literal");
			c = (unsigned char)p->s[p->pos++];
			if (c == ']')
				break;
			if (addr_is_wsp(c))
				continue;
			if (c < 33 || c > 126 || c == '[' || c == '\\')
				return addr_fail(p,
				    "invalid character in domain literal");
			if (buf_addc(dom, c) == -1)
				return addr_fail(p, "address too long");
		}
		if (dom->len == 1)
			return addr_fail(p, "empty domain literal");
		if (buf_addc(dom, ']') == -1)
			return addr_fail(p, "address too long");
		*end = p->pos;
		return 0;
	}
	for (;;) {
		a = p->pos;
		while (p->pos < p->len &&
		    addr_is_atext((unsigned char)p->s[p->pos]))
			p->pos++;
		if (p->pos == a)
			return addr_fail(p, dom->len == 0 ?
			    "missing domain after '@'" : "invalid domain");
		if (buf_add(dom, p->s + a, p->pos - a) == -1)
			return addr_fail(p, "address too long");
		*end = p->pos;
		mark = p->pos;
		if (addr_skip_cfws(p, NULL) == -1)
			return -1;
		if (addr_peek(p) != '.') {
			p->pos = mark;
			return 0;
		}
		p->pos++;
		if (buf_addc(dom, '.') == -1)
			return addr_fail(p, "address too long");
		if (addr_skip_cfws(p, NULL) == -1)
			return -1;
	}
}

static void
addr_push(struct addr_list *l, const struct addr *a)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = *a;
}

/*
 * Reads local part and domain (words already in w) into a.  The domain
 * part is optional: an unqualified address has none.
 */
static int
addr_spec_fill(struct parser *p, struct words *w, struct addr *a)
{
	struct buf dom;
	size_t end;

	if (addr_check_local(p, w) == -1)
		return -1;
	a->spec_start = w->first;
	a->local_end = a->spec_end = w->last;
	a->local = xstrdup(buf_str(&w->local));
	if (addr_skip_cfws(p, NULL) == -1)
		return -1;
	if (addr_peek(p) != '@')
		return 0;
	p->pos++;
	buf_init(&dom, p->len + 2);
	if (addr_domain(p, &dom, &end) == -1) {
		buf_release(&dom);
		return -1;
	}
	a->domain = buf_detach(&dom);
	a->spec_end = end;
	return 0;
}

/* "<" [obs-route] addr-spec ">", p->pos at "<". */
static int
addr_angle(struct parser *p, struct addr *a)
{
	struct words w;
	struct buf route;
	size_t end;
	int r = -1;

	p->pos++;
	if (addr_skip_cfws(p, NULL) == -1)
		return -1;
	if (addr_peek(p) == '>')
		return addr_fail(p, "null address <> is not a mailbox");
	if (addr_peek(p) == '@') {
		/* The obsolete source route is read and dropped. */
		buf_init(&route, p->len + 2);
		for (;;) {
			p->pos++;
			buf_reset(&route);
			if (addr_domain(p, &route, &end) == -1 ||
			    addr_skip_cfws(p, NULL) == -1) {
				buf_release(&route);
				return -1;
			}
			while (addr_peek(p) == ',') {
				p->pos++;
				if (addr_skip_cfws(p, NULL) == -1) {
					buf_release(&route);
					return -1;
				}
			}
			if (addr_peek(p) == ':') {
				p->pos++;
				break;
			}
			if (addr_peek(p) != '@') {
				buf_release(&route);
				if (p->pos >= p->len)
					return addr_fail(p, "missing '>'");
				return addr_fail(p, "invalid route");
			}
		}
		buf_release(&route);
	}
	addr_words_init(&w, p->len + 1);
	if (addr_words(p, &w) == -1 || addr_spec_fill(p, &w, a) == -1 ||
	    addr_skip_cfws(p, NULL) == -1)
		goto out;
	if (addr_peek(p) == '>') {
		p->pos++;
		r = 0;
	} else if (p->pos >= p->len)
		addr_fail(p, "missing '>'");
	else
		addr_unexpected(p);
out:
	addr_words_release(&w);
	return r;
}

/*
 * One member that is not empty and not a group end: 0 when an address was
 * added, 1 when it was the start of a group (*group is then set), -1.
 */
static int
addr_member(struct parser *p, struct addr_list *out, int *group)
{
	struct words w;
	struct addr a;
	int c, r = -1;

	memset(&a, 0, sizeof(a));
	a.in_group = *group;
	addr_words_init(&w, p->len + 1);
	if (addr_words(p, &w) == -1 || addr_skip_cfws(p, NULL) == -1)
		goto out;
	c = addr_peek(p);
	if (c == '<') {
		if (w.nitems > 0)
			a.display = xstrdup(buf_str(&w.disp));
		if (addr_angle(p, &a) == -1)
			goto out;
	} else if (c == ':') {
		if (*group) {
			addr_fail(p, "group inside a group");
			goto out;
		}
		p->pos++;
		*group = 1;
		r = 1;
		goto out;
	} else if (c == '@' || c == ',' || c == -1 ||
	    (c == ';' && *group)) {
		if (c != '@' && w.nwords > 0 && w.adjacent) {
			/* "John Smith": a name without its <address>. */
			p->pos = p->start;
			addr_fail(p, "display name without <address>");
			goto out;
		}
		if (addr_spec_fill(p, &w, &a) == -1)
			goto out;
	} else {
		addr_unexpected(p);
		goto out;
	}
	addr_push(out, &a);
	memset(&a, 0, sizeof(a));
	r = 0;
out:
	free(a.display);
	free(a.local);
	free(a.domain);
	addr_words_release(&w);
	return r;
}

void
addr_list_init(struct addr_list *l)
{
	l->v = NULL;
	l->n = 0;
	l->cap = 0;
}

void
addr_list_release(struct addr_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].display);
		free(l->v[i].local);
		free(l->v[i].domain);
	}
	free(l->v);
	addr_list_init(l);
}

int
addr_parse_list(const char *s, size_t len, struct addr_list *out,
    struct err *e)
{
	struct parser p;
	int c, r, group = 0;

	p.s = s;
	p.len = len;
	p.pos = 0;
	p.start = 0;
	p.e = e;
	for (;;) {
		if (addr_skip_cfws(&p, NULL) == -1)
			return -1;
		p.start = p.pos;
		c = addr_peek(&p);
		if (c == -1)
			return 0;
		if (c == ',') {
			p.pos++;
			continue;
		}
		if (c == ';') {
			if (!group)
				return addr_unexpected(&p);
			group = 0;
			p.pos++;
			if (addr_skip_cfws(&p, NULL) == -1)
				return -1;
			p.start = p.pos;
		} else if ((r = addr_member(&p, out, &group)) == -1)
			return -1;
		else if (r == 1)
			continue;
		if (addr_skip_cfws(&p, NULL) == -1)
			return -1;
		c = addr_peek(&p);
		if (c == ',')
			p.pos++;
		else if (c != -1 && !(c == ';' && group))
			return addr_unexpected(&p);
	}
}

/* 1 if s[0..n) is a dot-atom: atoms joined by single dots. */
static int
addr_is_dot_atom(const char *s, size_t n)
{
	size_t i;
	int atom = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (!atom)
				return 0;
			atom = 0;
		} else if (addr_is_atext((unsigned char)s[i]))
			atom = 1;
		else
			return 0;
	}
	return atom;
}

char *
addr_spec(const struct addr *a)
{
	struct buf b;
	const char *l;

	buf_init(&b, 0);
	if (addr_is_dot_atom(a->local, strlen(a->local)))
		buf_adds(&b, a->local);
	else {
		buf_addc(&b, '"');
		for (l = a->local; *l != '\0'; l++) {
			if (*l == '"' || *l == '\\')
				buf_addc(&b, '\\');
			buf_addc(&b, *l);
		}
		buf_addc(&b, '"');
	}
	if (a->domain != NULL) {
		buf_addc(&b, '@');
		buf_adds(&b, a->domain);
	}
	return buf_detach(&b);
}

int
addr_valid_spec(const char *s, int allow_unqualified)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *at;
	size_t n;

	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\\')
				p++;
			if (*p < 0x20 || *p == 0x7f)
				return 0;
		}
		p++;
	} else {
		at = strchr(s, '@');
		n = at != NULL ? (size_t)(at - s) : strlen(s);
		if (!addr_is_dot_atom(s, n))
			return 0;
		p += n;
	}
	if (*p == '\0')
		return allow_unqualified;
	if (*p++ != '@')
		return 0;
	if (*p == '[') {
		for (n = 0, p++; *p != ']'; p++, n++)
			if (*p < 33 || *p > 126 || *p == '[' || *p == '\\')
				return 0;
		return n > 0 && p[1] == '\0';
	}
	return addr_is_dot_atom((const char *)p, strlen((const char *)p));
}

int
addr_is_utf8(const char *spec)
{
	for (; *spec != '\0'; spec++)
		if ((unsigned char)*spec >= 0x80)
			return 1;
	return 0;
}

int
addr_to_ascii(const char *spec, char **out, struct err *e)
{
	const char *at = strrchr(spec, '@');
	char *alabel = NULL;
	size_t i, local;
	int rc;

	*out = NULL;
	local = at != NULL ? (size_t)(at - spec) : strlen(spec);
	for (i = 0; i < local; i++)
		if ((unsigned char)spec[i] >= 0x80)
			return err_set(e, ERR_DATA, "address <%s> has a non-ASCII "
			    "local part, which only a server offering SMTPUTF8 "
			    "can take", spec);
	if (at == NULL || !addr_is_utf8(at + 1)) {
		*out = xstrdup(spec);
		return 0;
	}
	/* IDNA 2008, with the Unicode TR46 mapping browsers also apply. */
	rc = idn2_to_ascii_8z(at + 1, &alabel,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK)
		return err_set(e, ERR_DATA, "address <%s>: the domain cannot "
		    "be converted to ASCII (%s)", spec, idn2_strerror(rc));
	*out = xasprintf("%.*s@%s", (int)local, spec, alabel);
	idn2_free(alabel);
	return 0;
}
