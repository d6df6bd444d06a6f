/*
 * str owns the little string routines that would otherwise be written again
 * in each module: prefix tests, control-character checks, one-line
 * sanitising for messages.
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

void
str_oneline(char *out, size_t outsz, const char *s, size_t n)
{
	size_t i, o = 0;
	int space = 0;

	if (outsz == 0)
		return;
	for (i = 0; i < n && o + 1 < outsz; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n' || c == '\t' || c == ' ') {
			space = 1;
			continue;
		}
		if (space && o > 0) {
			/* A word that cannot keep its space is not begun. */
			if (o + 2 >= outsz)
				break;
			out[o++] = ' ';
		}
		space = 0;
		out[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	out[o] = '\0';
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
