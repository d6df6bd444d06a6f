/*
 * hdr owns header fields: the push/pull reader that turns lines into
 * whole (folded) fields in a capped buffer and notices where the header
 * section ends, field-name checks, unfolding, and RFC 2047: writing
 * unstructured values and display names (plain words where they are
 * enough, "B" or "Q" encoded-words of whole UTF-8 characters otherwise,
 * lines folded before column 78) and decoding encoded-words back to UTF-8.
 * Nothing here does I/O; every function works on caller buffers.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "err.h"
#include "hdr.h"
#include "util/b64.h"
#include "util/buf.h"
#include "util/str.h"

/*
 * Reader states (r->state).  r->pending is 1 when r->cur holds a field,
 * -1 while the continuation lines of a field refused for its size are
 * being dropped, 0 otherwise.
 */
enum {
	RD_HEAD = 0,	/* reading fields */
	RD_FIELD,	/* r->out holds a field to hand out, then RD_HEAD */
	RD_FIELD_END,	/* r->out, then the pending field, then HDR_END */
	RD_FIELD_BODY,	/* r->out, then the pending field, then HDR_BODY */
	RD_END,		/* the pending field if any, then HDR_END */
	RD_BODY,	/* the pending field if any, then HDR_BODY */
	RD_DONE,	/* nothing more */
};

#define HDR_LINE_MAX	78	/* RFC 5322 2.1.1: lines SHOULD be this short */
#define HDR_EW_MAX	75	/* RFC 2047 2: an encoded-word's length */
#define HDR_EW_OVER	12	/* "=?UTF-8?B?" and "?=" */
#define HDR_WSP_MAX	40	/* a longer blank run is encoded */
#define HDR_SNIPPET	40

static int
hdr_is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t';
}

void
hdr_reader_init(struct hdr_reader *r, size_t max_field)
{
	buf_init(&r->cur, max_field);
	buf_init(&r->out, max_field);
	r->pending = 0;
	r->state = RD_HEAD;
}

void
hdr_reader_release(struct hdr_reader *r)
{
	buf_release(&r->cur);
	buf_release(&r->out);
	r->pending = 0;
	r->state = RD_DONE;
}

/* Moves the pending field from cur to out. */
static void
hdr_reader_hand(struct hdr_reader *r)
{
	struct buf t = r->out;

	r->out = r->cur;
	r->cur = t;
	buf_reset(&r->cur);
	r->pending = 0;
}

static int
hdr_too_long(struct err *e, const char *s, size_t n)
{
	char snip[HDR_SNIPPET + 1];

	if (n > HDR_SNIPPET) {
		n = HDR_SNIPPET;
		/* Do not cut a UTF-8 sequence. */
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(snip, s, n);
	snip[n] = '\0';
	return err_set(e, ERR_DATA, "header field too long: '%s...'", snip);
}

int
hdr_reader_push(struct hdr_reader *r, const char *line, size_t len,
    struct err *e)
{
	int cont;

	if (r->state != RD_HEAD && r->state != RD_FIELD)
		return 0;
	/* A CR left over from a CRLF line end is not part of the line. */
	if (len > 0 && line[len - 1] == '\r')
		len--;
	cont = len > 0 && hdr_is_wsp((unsigned char)line[0]);
	if (cont && r->pending == -1)
		return hdr_too_long(e, line, len);
	if (cont && r->pending) {
		/* Checked first so that a refused line leaves no "\r\n". */
		if ((r->cur.max != 0 && (len > r->cur.max ||
		    r->cur.len + 2 > r->cur.max - len)) ||
		    buf_add(&r->cur, "\r\n", 2) == -1 ||
		    buf_add(&r->cur, line, len) == -1)
			return hdr_too_long(e, r->cur.data, r->cur.len);
		return 0;
	}
	if (len == 0) {
		r->state = r->state == RD_FIELD ? RD_FIELD_END : RD_END;
		return 0;
	}
	if (cont || hdr_name_len(line, len) == 0) {
		r->state = r->state == RD_FIELD ? RD_FIELD_BODY : RD_BODY;
		return 0;
	}
	/* A field that was not pulled is dropped: pull before pushing. */
	if (r->pending == 1) {
		hdr_reader_hand(r);
		r->state = RD_FIELD;
	}
	r->pending = 0;
	if (buf_add(&r->cur, line, len) == -1) {
		r->pending = -1;
		return hdr_too_long(e, line, len);
	}
	r->pending = 1;
	return 0;
}

void
hdr_reader_finish(struct hdr_reader *r)
{
	if (r->state == RD_HEAD)
		r->state = RD_END;
	else if (r->state == RD_FIELD)
		r->state = RD_FIELD_END;
}

static void
hdr_reader_fill(struct hdr_reader *r, struct hdr_field *f)
{
	const char *s = r->out.data;
	size_t n = r->out.len, i;

	f->raw = s;
	f->rawlen = n;
	f->name = s;
	f->namelen = hdr_name_len(s, n);
	for (i = f->namelen; i < n && s[i] != ':'; i++)
		;
	f->value = s + i + 1;
	f->valuelen = n - i - 1;
}

enum hdr_event
hdr_reader_pull(struct hdr_reader *r, struct hdr_field *f)
{
	memset(f, 0, sizeof(*f));
	switch (r->state) {
	case RD_FIELD:
	case RD_FIELD_END:
	case RD_FIELD_BODY:
		hdr_reader_fill(r, f);
		r->state = r->state == RD_FIELD ? RD_HEAD :
		    r->state == RD_FIELD_END ? RD_END : RD_BODY;
		return HDR_FIELD;
	case RD_END:
	case RD_BODY:
		if (r->pending == 1) {
			hdr_reader_hand(r);
			hdr_reader_fill(r, f);
			return HDR_FIELD;
		}
		f->raw = NULL;
		if (r->state == RD_END) {
			r->state = RD_DONE;
			return HDR_END;
		}
		r->state = RD_DONE;
		return HDR_BODY;
	default:
		return HDR_NONE;
	}
}

size_t
hdr_name_len(const char *line, size_t len)
{
	size_t i, n;

	for (n = 0; n < len; n++) {
		unsigned char c = (unsigned char)line[n];

		if (c < 33 || c > 126 || c == ':')
			break;
	}
	if (n == 0)
		return 0;
	for (i = n; i < len && hdr_is_wsp((unsigned char)line[i]); i++)
		;
	return i < len && line[i] == ':' ? n : 0;
}

int
hdr_is(const struct hdr_field *f, const char *name)
{
	return f->name != NULL && strlen(name) == f->namelen &&
	    strncasecmp(f->name, name, f->namelen) == 0;
}

int
hdr_unfold(const char *value, size_t len, struct buf *out)
{
	size_t a = 0, b = len, i, run, old = out->len;

	while (a < b && (hdr_is_wsp((unsigned char)value[a]) ||
	    value[a] == '\r' || value[a] == '\n'))
		a++;
	while (b > a && (hdr_is_wsp((unsigned char)value[b - 1]) ||
	    value[b - 1] == '\r' || value[b - 1] == '\n'))
		b--;
	for (i = a, run = a; i < b; i++) {
		size_t brk = 0;

		if (value[i] == '\r' && i + 1 < b && value[i + 1] == '\n')
			brk = 2;
		else if (value[i] == '\n')
			brk = 1;
		if (brk == 0 || i + brk >= b ||
		    !hdr_is_wsp((unsigned char)value[i + brk]))
			continue;
		if (buf_add(out, value + run, i - run) == -1)
			goto fail;
		i += brk - 1;
		run = i + 1;
	}
	if (buf_add(out, value + run, b - run) == -1)
		goto fail;
	return 0;
fail:
	buf_truncate(out, old);
	return -1;
}

/* Length of the UTF-8 sequence at s[0..n), 0 if it is not valid. */
static size_t
hdr_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int
hdr_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i, n;

	for (i = 0; i < len; i += n)
		if ((n = hdr_utf8_seq(p + i, len - i)) == 0)
			return 0;
	return 1;
}

/* Characters a "Q" word may carry as they are, even in a phrase. */
static int
hdr_q_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '!' || c == '*' || c == '+' ||
	    c == '-' || c == '/' || c == ' ';
}

/* Length of the character starting at s (the text is valid UTF-8). */
static size_t
hdr_charlen(const char *s, size_t n)
{
	size_t len = hdr_utf8_seq((const unsigned char *)s, n);

	return len ? len : 1;
}

/* Length of s[0..n) in "Q" encoding. */
static size_t
hdr_q_len(const char *s, size_t n)
{
	size_t i, len = 0;

	for (i = 0; i < n; i++)
		len += hdr_q_plain((unsigned char)s[i]) ? 1 : 3;
	return len;
}

/*
 * The most bytes (whole characters) of s[0..n) whose encoding in "B"
 * (enc 'B') or "Q" fits in budget characters of encoded text.
 */
static size_t
hdr_ew_fit(const char *s, size_t n, size_t budget, int enc)
{
	size_t i = 0, k, cost = 0, j;

	while (i < n) {
		k = hdr_charlen(s + i, n - i);
		if (enc == 'B')
			cost = B64_LEN(i + k);
		else
			for (j = i; j < i + k; j++)
				cost += hdr_q_plain((unsigned char)s[j]) ?
				    1 : 3;
		if (cost > budget)
			break;
		i += k;
	}
	return i;
}

static int
hdr_ew_put(struct buf *out, const char *s, size_t n, int enc)
{
	static const char hex[] = "0123456789ABCDEF";
	char b64[B64_LEN(HDR_EW_MAX) + 1];
	size_t i;

	if (buf_adds(out, enc == 'B' ? "=?UTF-8?B?" : "=?UTF-8?Q?") == -1)
		return -1;
	if (enc == 'B') {
		b64_encode(s, n, b64);
		if (buf_adds(out, b64) == -1)
			return -1;
	} else {
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			int r;

			if (c == ' ')
				r = buf_addc(out, '_');
			else if (hdr_q_plain(c))
				r = buf_addc(out, c);
			else
				r = buf_printf(out, "=%c%c", hex[c >> 4],
				    hex[c & 15]);
			if (r == -1)
				return -1;
		}
	}
	return buf_adds(out, "?=");
}

/* Column of the end of out: bytes since its last line break. */
static size_t
hdr_col(const struct buf *out)
{
	size_t i = out->len;

	while (i > 0 && out->data[i - 1] != '\n')
		i--;
	return out->len - i;
}

/*
 * Writes s[0..n) as encoded-words.  sep (seplen bytes, white space) goes
 * before the first word and " " before the others; a line break goes
 * before a separator when the next word would not fit in the line.  With
 * no separator the first word starts where out ends.
 */
static int
hdr_ew_chunk(struct buf *out, size_t *col, const char *sep, size_t seplen,
    const char *s, size_t n)
{
	size_t budget, nq, nb, take, k;
	int enc, folded;

	while (n > 0) {
		folded = 0;
		for (;;) {
			budget = 0;
			if (*col + seplen + HDR_EW_OVER < HDR_LINE_MAX)
				budget = HDR_LINE_MAX - *col - seplen -
				    HDR_EW_OVER;
			if (budget > HDR_EW_MAX - HDR_EW_OVER)
				budget = HDR_EW_MAX - HDR_EW_OVER;
			nq = hdr_ew_fit(s, n, budget, 'Q');
			nb = hdr_ew_fit(s, n, budget, 'B');
			take = nq >= nb ? nq : nb;
			/* Fold rather than write a tiny word at the end. */
			if (folded || seplen == 0 ||
			    (take > 0 && (take == n || budget >= 24)))
				break;
			if (buf_add(out, "\r\n", 2) == -1)
				return -1;
			*col = 0;
			folded = 1;
		}
		/* The encoding that takes more; of two equals the shorter. */
		enc = nq > nb || (nq == nb && hdr_q_len(s, nq) <=
		    B64_LEN(nq)) ? 'Q' : 'B';
		if (take == 0) {
			/* No room at all: one character, overlong line. */
			take = hdr_charlen(s, n);
			enc = 'B';
		}
		k = out->len;
		if (buf_add(out, sep, seplen) == -1 ||
		    hdr_ew_put(out, s, take, enc) == -1)
			return -1;
		*col += out->len - k;
		s += take;
		n -= take;
		sep = " ";
		seplen = 1;
	}
	return 0;
}

/* A word that cannot be written as it is: non-ASCII, control, "=?". */
static int
hdr_word_needs_ew(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x7f || c < 0x20)
			return 1;
		if (c == '=' && i + 1 < n && s[i + 1] == '?')
			return 1;
	}
	return 0;
}

/* Checks text for compose mode: UTF-8 and no line breaks. */
static int
hdr_text_ok(const char *s, size_t n)
{
	return memchr(s, '\r', n) == NULL && memchr(s, '\n', n) == NULL &&
	    hdr_utf8_valid(s, n);
}

/* A field name: printable ASCII but ':', at least one byte. */
static int
hdr_name_ok(const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 33 ||
		    (unsigned char)name[i] > 126 || name[i] == ':')
			return 0;
	return n > 0;
}

static size_t
hdr_span(const char *s, size_t n, int wsp)
{
	size_t i;

	for (i = 0; i < n && hdr_is_wsp((unsigned char)s[i]) == wsp; i++)
		;
	return i;
}

/*
 * Whether the word w (wn bytes, after a blank run of bn bytes and before
 * one of an bytes) is written as an encoded-word.
 */
static int
hdr_unstr_ew(const char *w, size_t wn, size_t bn, size_t an)
{
	return hdr_word_needs_ew(w, wn) || bn > HDR_WSP_MAX ||
	    an > HDR_WSP_MAX || bn + wn >= HDR_LINE_MAX;
}

int
hdr_write_unstructured(struct buf *out, const char *name, const char *value)
{
	const char *v = value, *sep = " ", *w;
	size_t old = out->len, n = strlen(value), nl = strlen(name);
	size_t col, seplen = 1, wn, bn, an, end;

	if (!hdr_name_ok(name, nl) || !hdr_text_ok(v, n))
		return -1;
	if (buf_add(out, name, nl) == -1 || buf_addc(out, ':') == -1)
		goto fail;
	while (n > 0 && hdr_is_wsp((unsigned char)*v)) {
		v++;
		n--;
	}
	while (n > 0 && hdr_is_wsp((unsigned char)v[n - 1]))
		n--;
	col = hdr_col(out);
	if (n == 0) {
		if (buf_adds(out, " \r\n") == -1)
			goto fail;
		return 0;
	}
	while (n > 0) {
		w = v;
		wn = hdr_span(w, n, 0);
		an = hdr_span(w + wn, n - wn, 1);
		if (!hdr_unstr_ew(w, wn, seplen, an)) {
			if (col + seplen + wn > HDR_LINE_MAX) {
				if (buf_add(out, "\r\n", 2) == -1)
					goto fail;
				col = 0;
			}
			if (buf_add(out, sep, seplen) == -1 ||
			    buf_add(out, w, wn) == -1)
				goto fail;
			col += seplen + wn;
			end = wn;
		} else {
			/*
			 * Take in the following words that are encoded too,
			 * with the blanks between them.
			 */
			end = wn;
			while (end + an < n) {
				bn = an;
				wn = hdr_span(v + end + bn, n - end - bn, 0);
				an = hdr_span(v + end + bn + wn,
				    n - end - bn - wn, 1);
				if (!hdr_unstr_ew(v + end + bn, wn, bn, an))
					break;
				end += bn + wn;
				an = hdr_span(v + end, n - end, 1);
			}
			if (hdr_ew_chunk(out, &col, sep, seplen, v,
			    end) == -1)
				goto fail;
		}
		sep = v + end;
		seplen = hdr_span(sep, n - end, 1);
		v += end + seplen;
		n -= end + seplen;
	}
	if (buf_add(out, "\r\n", 2) == -1)
		goto fail;
	return 0;
fail:
	buf_truncate(out, old);
	return -1;
}

static int
hdr_is_atext(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/*
 * Before a phrase that would not fit where out ends, turns a blank that
 * ends out into a fold.
 */
static int
hdr_fold_before(struct buf *out, size_t *col, size_t need)
{
	char c;

	if (*col + need <= HDR_LINE_MAX || out->len == 0)
		return 0;
	c = out->data[out->len - 1];
	if (!hdr_is_wsp((unsigned char)c))
		return 0;
	buf_truncate(out, out->len - 1);
	if (buf_add(out, "\r\n", 2) == -1 || buf_addc(out, c) == -1)
		return -1;
	*col = 1;
	return 0;
}

/* Bytes the word s[0..n) takes in a phrase, quoted or not. */
static size_t
hdr_phrase_cost(const char *s, size_t n, int quoted)
{
	size_t i, cost = n;

	for (i = 0; quoted && i < n; i++)
		if (s[i] == '"' || s[i] == '\\')
			cost++;
	return cost;
}

int
hdr_write_phrase(struct buf *out, const char *name)
{
	size_t old = out->len, n = strlen(name), col, i, k, wn, bn, cost;
	int ew = 0, quoted = n == 0;

	if (!hdr_text_ok(name, n))
		return -1;
	/* Atoms need single spaces between atext words, nothing around. */
	for (i = 0; i < n; i += wn + bn) {
		wn = hdr_span(name + i, n - i, 0);
		bn = hdr_span(name + i + wn, n - i - wn, 1);
		if (hdr_word_needs_ew(name + i, wn) || wn > 60 ||
		    bn > HDR_WSP_MAX)
			ew = 1;
		for (k = 0; k < wn; k++)
			if (!hdr_is_atext((unsigned char)name[i + k]))
				quoted = 1;
		if (wn == 0 || (bn != 0 && (bn != 1 || name[i + wn] != ' ' ||
		    i + wn + bn == n)))
			quoted = 1;
	}
	col = hdr_col(out);
	if (ew) {
		if (hdr_fold_before(out, &col, HDR_EW_OVER + 24) == -1 ||
		    hdr_ew_chunk(out, &col, "", 0, name, n) == -1)
			goto fail;
		return 0;
	}
	bn = hdr_span(name, n, 1);
	wn = hdr_span(name + bn, n - bn, 0);
	cost = bn + hdr_phrase_cost(name + bn, wn, quoted) + 2 * quoted;
	if (hdr_fold_before(out, &col, cost) == -1 ||
	    (quoted && buf_addc(out, '"') == -1))
		goto fail;
	col += quoted;
	for (i = 0; i < n; i += wn) {
		bn = hdr_span(name + i, n - i, 1);
		wn = hdr_span(name + i + bn, n - i - bn, 0);
		cost = hdr_phrase_cost(name + i + bn, wn, quoted);
		if (quoted && i + bn + wn == n)
			cost++;
		/* Fold before a blank when the word would pass column 78. */
		if (bn > 0 && col + bn + cost > HDR_LINE_MAX) {
			if (buf_add(out, "\r\n", 2) == -1)
				goto fail;
			col = 0;
		}
		if (buf_add(out, name + i, bn) == -1)
			goto fail;
		i += bn;
		for (k = i; k < i + wn; k++)
			if ((quoted && (name[k] == '"' || name[k] == '\\') &&
			    buf_addc(out, '\\') == -1) ||
			    buf_addc(out, name[k]) == -1)
				goto fail;
		col += bn + cost;
	}
	if (quoted && buf_addc(out, '"') == -1)
		goto fail;
	return 0;
fail:
	buf_truncate(out, old);
	return -1;
}

/* Encoded text longer than this is not taken for an encoded-word. */
#define HDR_EW_TEXT_MAX	300

/*
 * Decodes the encoded-word at the start of s[0..n) into dst (room for
 * 2 * HDR_EW_TEXT_MAX bytes of UTF-8, *dstlen set); returns its length,
 * or 0 when it is not an encoded-word this decoder handles.
 */
static size_t
hdr_ew_decode(const char *s, size_t n, unsigned char *dst, size_t *dstlen)
{
	unsigned char raw[HDR_EW_TEXT_MAX];
	char pad[HDR_EW_TEXT_MAX + 4];
	const char *cs, *text, *star;
	size_t i, cslen, textlen, wordlen, rawlen = 0, o = 0;
	int enc, hi, lo, latin1 = 0;
	long r;

	/* "=?" charset ["*" language] "?" ("B" / "Q") "?" text "?=" */
	if (n < 2 || s[0] != '=' || s[1] != '?')
		return 0;
	cs = s + 2;
	for (i = 2; i < n && s[i] != '?'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	if (i == 2 || i + 3 >= n || s[i + 2] != '?')
		return 0;
	cslen = (size_t)(s + i - cs);
	if ((star = memchr(cs, '*', cslen)) != NULL)
		cslen = (size_t)(star - cs);
	enc = s[i + 1] & ~0x20;
	if (enc != 'B' && enc != 'Q')
		return 0;
	text = s + i + 3;
	for (i += 3; i < n && s[i] != '?'; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	if (i + 1 >= n || s[i + 1] != '=')
		return 0;
	textlen = (size_t)(s + i - text);
	if (textlen > HDR_EW_TEXT_MAX)
		return 0;
	wordlen = i + 2;
	if (enc == 'B') {
		/* Some writers leave out the padding. */
		memcpy(pad, text, textlen);
		while (textlen % 4 != 0)
			pad[textlen++] = '=';
		if ((r = b64_decode(pad, textlen, raw)) < 0)
			return 0;
		rawlen = (size_t)r;
	} else {
		for (i = 0; i < textlen; i++) {
			unsigned char c = (unsigned char)text[i];

			if (c == '_')
				c = ' ';
			else if (c == '=') {
				if (i + 2 >= textlen)
					return 0;
				hi = str_hexval((unsigned char)text[i + 1]);
				lo = str_hexval((unsigned char)text[i + 2]);
				if (hi < 0 || lo < 0)
					return 0;
				c = (unsigned char)(hi << 4 | lo);
				i += 2;
			}
			raw[rawlen++] = c;
		}
	}
	/* Line breaks and NULs stay encoded: they would break a header. */
	for (i = 0; i < rawlen; i++)
		if (raw[i] == '\0' || raw[i] == '\r' || raw[i] == '\n')
			return 0;
	if (str_caseeqn(cs, cslen, "UTF-8") || str_caseeqn(cs, cslen, "UTF8")) {
		if (!hdr_utf8_valid((const char *)raw, rawlen))
			return 0;
	} else if (str_caseeqn(cs, cslen, "US-ASCII")) {
		if (!str_is_ascii((const char *)raw, rawlen))
			return 0;
	} else if (str_caseeqn(cs, cslen, "ISO-8859-1") ||
	    str_caseeqn(cs, cslen, "ISO8859-1") ||
	    str_caseeqn(cs, cslen, "LATIN1"))
		latin1 = 1;
	else
		return 0;
	for (i = 0; i < rawlen; i++) {
		/* ISO-8859-1 bytes are the first 256 code points. */
		if (raw[i] < 0x80 || !latin1)
			dst[o++] = raw[i];
		else {
			dst[o++] = (unsigned char)(0xc0 | raw[i] >> 6);
			dst[o++] = (unsigned char)(0x80 | (raw[i] & 0x3f));
		}
	}
	*dstlen = o;
	return wordlen;
}

static int
hdr_all_blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!hdr_is_wsp((unsigned char)s[i]) && s[i] != '\r' &&
		    s[i] != '\n')
			return 0;
	return 1;
}

int
hdr_decode_words(const char *s, size_t len, struct buf *out)
{
	unsigned char dec[2 * HDR_EW_TEXT_MAX];
	size_t old = out->len, i = 0, plain = 0, used, declen;
	int prev = 0;

	while (i + 1 < len) {
		if (s[i] != '=' || s[i + 1] != '?' ||
		    (used = hdr_ew_decode(s + i, len - i, dec, &declen)) == 0) {
			i++;
			continue;
		}
		if (!(prev && hdr_all_blank(s + plain, i - plain)) &&
		    buf_add(out, s + plain, i - plain) == -1)
			goto fail;
		if (buf_add(out, dec, declen) == -1)
			goto fail;
		i += used;
		plain = i;
		prev = 1;
	}
	if (buf_add(out, s + plain, len - plain) == -1)
		goto fail;
	return 0;
fail:
	buf_truncate(out, old);
	return -1;
}
