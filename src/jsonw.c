/*
 * jsonw owns the escaping of strings for JSON output.  It decodes UTF-8
 * strictly (no overlong forms, no surrogates, nothing above U+10FFFF) and
 * replaces each byte it cannot decode with U+FFFD.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>

#include "jsonw.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0. */
static int
utf8_len(const unsigned char *s, uint32_t *cp)
{
	uint32_t c;
	int n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		c = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3F);
	}
	if ((n == 3 && (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10FFFF)))
		return 0;
	*cp = c;
	return n;
}

void
jsonw_str(FILE *out, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp;
	int n;

	if (s == NULL) {
		fputs("null", out);
		return;
	}
	putc('"', out);
	while (*s != '\0') {
		n = utf8_len(s, &cp);
		if (n == 0) {
			fputs("\\ufffd", out);
			s++;
			continue;
		}
		if (cp == '"' || cp == '\\')
			fprintf(out, "\\%c", (int)cp);
		else if (cp == '\n')
			fputs("\\n", out);
		else if (cp == '\t')
			fputs("\\t", out);
		else if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F))
			fprintf(out, "\\u%04x", (unsigned)cp);
		else
			fwrite(s, 1, (size_t)n, out);
		s += n;
	}
	putc('"', out);
}
