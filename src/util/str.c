/*
 * str owns the little string routines that would otherwise be written again
 * in each module: prefix tests, control-character checks, UTF-8
 * sequences, and making text from elsewhere safe: one line for a terminal
 * (controls and invalid UTF-8 escaped) or the inside of a JSON string.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "util/str.h"

int
str_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int
str_caseprefix(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

int
str_caseeqn(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

int
str_has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return 1;
		else if (*s == 0x7f)
			return 1;
	return 0;
}

int
str_is_ascii(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

char *
str_trim(char *s)
{
	size_t n;
	char *p = s;

	while (*p == ' ' || *p == '\t')
		p++;
	if (p != s)
		memmove(s, p, strlen(p) + 1);
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

char *
str_lower(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p += 'a' - 'A';
	return s;
}

char *
str_upper(char *s)
{
	char *p;

	for (p = s; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p -= 'a' - 'A';
	return s;
}

size_t
str_utf8_len(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t len, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* The code point of the valid sequence of len bytes at s. */
static unsigned long
str_utf8_cp(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long cp;
	size_t i;

	if (len == 1)
		return p[0];
	cp = p[0] & (0x7f >> len);
	for (i = 1; i < len; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

/*
 * Characters a terminal would act on, or that change how the text around
 * them reads: C1 controls, line and paragraph separators, bidirectional
 * marks, embeddings, overrides and isolates.
 */
static int
str_cp_hidden(unsigned long cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069);
}

static int
str_is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum { STR_TK_END, STR_TK_BLANK, STR_TK_TEXT };

#define STR_TOK_MAX	8	/* "\\u202e" and its terminator */

/*
 * The next piece of s[*i..n) for a terminal: a run of blanks, or one
 * character as it is or escaped (tok, *len bytes).  Advances *i.
 */
static int
str_token(const char *s, size_t n, size_t *i, char *tok, size_t *len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char c;
	unsigned long cp;
	size_t k;

	if (*i >= n)
		return STR_TK_END;
	c = (unsigned char)s[*i];
	if (str_is_blank(c)) {
		while (*i < n && str_is_blank((unsigned char)s[*i]))
			(*i)++;
		return STR_TK_BLANK;
	}
	k = (c < 0x20 || c == 0x7f) ? 0 : str_utf8_len(s + *i, n - *i);
	if (k == 0) {
		tok[0] = '\\';
		tok[1] = 'x';
		tok[2] = hex[c >> 4];
		tok[3] = hex[c & 15];
		*len = 4;
		(*i)++;
		return STR_TK_TEXT;
	}
	cp = str_utf8_cp(s + *i, k);
	if (str_cp_hidden(cp)) {
		tok[0] = '\\';
		tok[1] = 'u';
		tok[2] = hex[cp >> 12 & 15];
		tok[3] = hex[cp >> 8 & 15];
		tok[4] = hex[cp >> 4 & 15];
		tok[5] = hex[cp & 15];
		*len = 6;
	} else {
		memcpy(tok, s + *i, k);
		*len = k;
	}
	*i += k;
	return STR_TK_TEXT;
}

int
str_sanitize(struct buf *out, const char *s, size_t n)
{
	char tok[STR_TOK_MAX];
	size_t i = 0, len, old = out->len;
	int t, blank = 0;

	while ((t = str_token(s, n, &i, tok, &len)) != STR_TK_END) {
		if (t == STR_TK_BLANK) {
			blank = out->len > old;
			continue;
		}
		if ((blank && buf_addc(out, ' ') == -1) ||
		    buf_add(out, tok, len) == -1) {
			buf_truncate(out, old);
			return -1;
		}
		blank = 0;
	}
	return 0;
}

int
str_oneline(char *out, size_t outsz, const char *s, size_t n)
{
	char tok[STR_TOK_MAX];
	size_t i = 0, o = 0, len, need;
	int t, blank = 0, whole = 1;

	if (outsz == 0)
		return n == 0;
	while ((t = str_token(s, n, &i, tok, &len)) != STR_TK_END) {
		if (t == STR_TK_BLANK) {
			blank = o > 0;
			continue;
		}
		/* A character that cannot keep its space is not begun. */
		need = len + (size_t)blank;
		if (o + need >= outsz) {
			whole = 0;
			break;
		}
		if (blank)
			out[o++] = ' ';
		memcpy(out + o, tok, len);
		o += len;
		blank = 0;
	}
	out[o] = '\0';
	return whole;
}

int
str_json_escape(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, k, old = out->len;
	unsigned long cp;
	unsigned char c;
	char esc[7];
	int r;

	for (i = 0; i < n; i += k) {
		c = (unsigned char)s[i];
		k = str_utf8_len(s + i, n - i);
		if (k == 0) {
			/* Not UTF-8: the replacement character. */
			k = 1;
			r = buf_adds(out, "\\ufffd");
		} else if (c == '"' || c == '\\') {
			r = buf_addc(out, '\\') == -1 ? -1 : buf_addc(out, c);
		} else if (c == '\n') {
			r = buf_adds(out, "\\n");
		} else if (c == '\r') {
			r = buf_adds(out, "\\r");
		} else if (c == '\t') {
			r = buf_adds(out, "\\t");
		} else if ((cp = str_utf8_cp(s + i, k)) < 0x20 || cp == 0x7f ||
		    (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 ||
		    cp == 0x2029) {
			esc[0] = '\\';
			esc[1] = 'u';
			esc[2] = hex[cp >> 12 & 15];
			esc[3] = hex[cp >> 8 & 15];
			esc[4] = hex[cp >> 4 & 15];
			esc[5] = hex[cp & 15];
			r = buf_add(out, esc, 6);
		} else
			r = buf_add(out, s + i, k);
		if (r == -1) {
			buf_truncate(out, old);
			return -1;
		}
	}
	return 0;
}

int
str_xtext_encode(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < '!' || c > '~' || c == '+' || c == '=') {
			char esc[3] = { '+', hex[c >> 4], hex[c & 15] };

			if (buf_add(out, esc, 3) == -1)
				return -1;
		} else if (buf_addc(out, c) == -1)
			return -1;
	}
	return 0;
}

int
str_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
str_xtext_decode(struct buf *out, const char *s)
{
	int hi, lo;

	for (; *s != '\0'; s++) {
		if (*s != '+') {
			if (buf_addc(out, *s) == -1)
				return -1;
			continue;
		}
		if ((hi = str_hexval((unsigned char)s[1])) < 0 ||
		    (lo = str_hexval((unsigned char)s[2])) < 0)
			return -1;
		if (buf_addc(out, hi << 4 | lo) == -1)
			return -1;
		s += 2;
	}
	return 0;
}
