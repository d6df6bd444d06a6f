/*
 * test_mime: the MIME module, table by table.  Quoted-printable against
 * expected encodings (and fed a byte at a time, and decoded back by a
 * decoder written here), base64 against RFC 4648 vectors and in pieces,
 * sniffing and the choice of encoding, RFC 2231 parameters, boundaries
 * (never inside encoded output), Content-IDs, and the 8BITMIME
 * downgrade on whole messages.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "mime.h"
#include "msg.h"
#include "t.h"
#include "util/alloc.h"
#include "util/b64.h"
#include "util/buf.h"

/* A quoted-printable decoder independent of the encoder; -1 if bad. */
static long
qp_decode(const char *s, size_t n, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i = 0, o = 0;
	const char *a, *b;

	while (i < n) {
		if (s[i] != '=') {
			out[o++] = s[i++];
			continue;
		}
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 3;
			continue;
		}
		if (i + 2 >= n || (a = strchr(hex, s[i + 1])) == NULL ||
		    (b = strchr(hex, s[i + 2])) == NULL || s[i + 1] == '\0' ||
		    s[i + 2] == '\0')
			return -1;
		out[o++] = (char)((a - hex) << 4 | (b - hex));
		i += 3;
	}
	return (long)o;
}

/* Every line at most max octets, every byte 7-bit, CR only in CRLF. */
static int
lines_ok(const char *s, size_t n, size_t max)
{
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return 0;
		if (s[i] == '\r') {
			if (i + 1 >= n || s[i + 1] != '\n')
				return 0;
			i++;
			col = 0;
			continue;
		}
		if (s[i] == '\n' || ++col > max)
			return 0;
	}
	return 1;
}

static char *
qp_all(const char *in, size_t n, int lf_breaks, int bytewise, size_t *len)
{
	struct mime_qp q;
	char *out = xmalloc(MIME_QP_MAX(n) + 16);
	size_t o = 0, i;

	mime_qp_init(&q, lf_breaks);
	if (bytewise)
		for (i = 0; i < n; i++)
			o += mime_qp_encode(&q, in + i, 1, out + o);
	else
		o = mime_qp_encode(&q, in, n, out);
	o += mime_qp_finish(&q, out + o);
	out[o] = '\0';
	*len = o;
	return out;
}

static char *
rep(int c, size_t n, const char *tail)
{
	char *s = xmalloc(n + strlen(tail) + 1);

	memset(s, c, n);
	strcpy(s + n, tail);
	return s;
}

static void
test_qp(void)
{
	static const struct {
		const char	*in;
		int		 lf;
		const char	*want;
	} t[] = {
		{ "", 1, "" },
		{ "abc", 1, "abc" },
		{ "a=b", 1, "a=3Db" },
		{ "trailing \n", 1, "trailing=20\r\n" },
		{ "tab\t\r\nnext", 1, "tab=09\r\nnext" },
		{ "end ", 1, "end=20" },
		{ "two  spaces", 1, "two  spaces" },
		{ "two  \n", 1, "two =20\r\n" },
		{ "-- sig\n", 1, "=2D- sig\r\n" },
		{ "a\n--=_x\n", 1, "a\r\n=2D-=3D_x\r\n" },
		{ "From me\n", 1, "=46rom me\r\n" },
		{ "x\nFrom\n", 1, "x\r\n=46rom\r\n" },
		{ "a From b", 1, "a From b" },
		{ ".\n", 1, "=2E\r\n" },
		{ "caf\xc3\xa9", 1, "caf=C3=A9" },
		{ "a\rb", 1, "a=0Db" },
		{ "a\r", 1, "a=0D" },
		{ "a \r", 1, "a =0D" },
		{ "a\r\nb\n", 1, "a\r\nb\r\n" },
		{ "a\nb", 0, "a=0Ab" },
		{ "a \nb", 0, "a =0Ab" },
		{ "a\r\nb", 0, "a\r\nb" },
		{ "a\x01\x7f", 1, "a=01=7F" },
		{ "\n\n", 1, "\r\n\r\n" },
	};
	size_t i, n;
	char *got;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		got = qp_all(t[i].in, strlen(t[i].in), t[i].lf, 0, &n);
		t_streq(got, t[i].want, "qp %zu", i);
		free(got);
		got = qp_all(t[i].in, strlen(t[i].in), t[i].lf, 1, &n);
		t_streq(got, t[i].want, "qp %zu fed a byte at a time", i);
		free(got);
	}
}

/* Soft breaks at column 76 (75 characters and "="). */
static void
test_qp_soft(void)
{
	static const struct {
		int		 c;
		size_t		 n;
		const char	*tail;
		size_t		 first;		/* characters before "=\r\n" */
		const char	*after;		/* what follows the break */
	} t[] = {
		{ 'a', 75, "", 75, NULL },
		{ 'a', 76, "", 75, "a" },
		{ 'a', 80, "", 75, "aaaaa" },
		{ 'a', 74, "=", 74, "=3D" },
		{ 'a', 73, "=", 73, "=3D" },
		{ 'a', 72, "=", 0, NULL },
		{ 'a', 75, "From", 75, "=46rom" },
		{ 'a', 75, "-x", 75, "=2Dx" },
		{ 'a', 74, " b", 75, "b" },
		{ 'a', 74, " \n", 74, "=20\r\n" },
		{ 'a', 75, "\n", 75, NULL },
	};
	size_t i, n, k;
	char *in, *got;
	const char *brk;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		in = rep(t[i].c, t[i].n, t[i].tail);
		got = qp_all(in, strlen(in), 1, 0, &n);
		brk = strstr(got, "=\r\n");
		if (t[i].after == NULL) {
			t_ok(brk == NULL && lines_ok(got, n, 76),
			    "qp soft %zu: no break in %zu+%zu", i, t[i].n,
			    strlen(t[i].tail));
		} else {
			k = brk != NULL ? (size_t)(brk - got) : 0;
			t_ok(brk != NULL && k == t[i].first &&
			    strcmp(brk + 3, t[i].after) == 0 &&
			    lines_ok(got, n, 76),
			    "qp soft %zu: break after %zu (got %zu)", i,
			    t[i].first, k);
		}
		free(in);
		free(got);
	}
}

/* Random content survives; lines stay short; no "=_" appears. */
static void
test_qp_roundtrip(void)
{
	char in[4096], *got, dec[4096 * 2];
	size_t n, len, i, k;
	long d;
	int ok = 1, seven = 1, noboundary = 1, lf;

	srand(42);
	for (k = 0; k < 400; k++) {
		len = (size_t)rand() % sizeof(in);
		for (i = 0; i < len; i++) {
			/* Mostly text, any byte value now and then. */
			int r = rand() % 16;

			in[i] = r < 9 ? (char)('a' + rand() % 26) :
			    r < 11 ? ' ' : r < 12 ? '\n' : r < 13 ? '\r' :
			    r < 14 ? '-' : r < 15 ? '=' : (char)(rand() % 256);
		}
		lf = (int)(k & 1);
		got = qp_all(in, len, 0, (int)(k & 2), &n);
		d = qp_decode(got, n, dec);
		if (d != (long)len || memcmp(dec, in, len) != 0)
			ok = 0;
		if (!lines_ok(got, n, 76))
			seven = 0;
		if (strstr(got, "=_") != NULL || strstr(got, "\r\n--") != NULL)
			noboundary = 0;
		free(got);
		(void)lf;
	}
	t_ok(ok, "qp without LF breaks: 400 random inputs decode back exactly");
	t_ok(seven, "qp: every encoded line 7-bit and at most 76");
	t_ok(noboundary, "qp: no '=_', no line starting '--'");
}

static void
test_base64(void)
{
	static const struct {
		const char	*in;
		const char	*want;
	} t[] = {
		{ "", "" },
		{ "f", "Zg==\r\n" },
		{ "fo", "Zm8=\r\n" },
		{ "foo", "Zm9v\r\n" },
		{ "foob", "Zm9vYg==\r\n" },
		{ "fooba", "Zm9vYmE=\r\n" },
		{ "foobar", "Zm9vYmFy\r\n" },
	};
	unsigned char big[57 * 40 + 13];
	char one[B64_MIME_LEN(sizeof(big)) + 1], pieces[sizeof(one)];
	size_t i, n, o, step;
	char out[64];
	int ok = 1;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = b64_encode_mime(t[i].in, strlen(t[i].in), out);
		out[n] = '\0';
		t_streq(out, t[i].want, "base64 '%s'", t[i].in);
	}
	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + 3);
	n = b64_encode_mime(big, sizeof(big), one);
	t_inteq(n, B64_MIME_LEN(sizeof(big)), "base64: B64_MIME_LEN is exact");
	t_ok(lines_ok(one, n, 76), "base64: lines of 76");
	t_ok(n > 78 && one[76] == '\r' && one[77] == '\n',
	    "base64: 57 bytes make a line of 76");
	for (step = 57; step <= 57 * 7; step += 57) {
		for (i = 0, o = 0; i < sizeof(big); i += step)
			o += b64_encode_mime(big + i, sizeof(big) - i < step ?
			    sizeof(big) - i : step, pieces + o);
		if (o != n || memcmp(one, pieces, n) != 0)
			ok = 0;
	}
	t_ok(ok, "base64: pieces of multiples of 57 bytes match one call");
}

struct choose_case {
	const char	*in;
	size_t		 len;		/* 0: strlen */
	enum mime_class	 cls;
	int		 allow8;
	const char	*magic_cs;
	enum mime_cte	 want;
	const char	*charset;
};

static void
test_choose(void)
{
	static const struct choose_case t[] = {
		{ "", 0, MIME_CLASS_TEXT, 1, NULL, MIME_7BIT, "us-ascii" },
		{ "hello\n", 0, MIME_CLASS_TEXT, 1, NULL, MIME_7BIT,
		    "us-ascii" },
		{ "no newline", 0, MIME_CLASS_TEXT, 1, NULL, MIME_7BIT,
		    "us-ascii" },
		{ "a\r\nb\r\n", 0, MIME_CLASS_TEXT, 1, NULL, MIME_7BIT,
		    "us-ascii" },
		{ "-- \nsig\n", 0, MIME_CLASS_TEXT, 1, NULL, MIME_7BIT,
		    "us-ascii" },
		{ "From me\n", 0, MIME_CLASS_TEXT, 1, NULL, MIME_7BIT,
		    "us-ascii" },
		{ "x\n--=_abc\n", 0, MIME_CLASS_TEXT, 1, NULL, MIME_QP,
		    "us-ascii" },
		{ "a\rb\n", 0, MIME_CLASS_TEXT, 1, NULL, MIME_QP, "us-ascii" },
		{ "caf\xc3\xa9\n", 0, MIME_CLASS_TEXT, 1, NULL, MIME_8BIT,
		    "utf-8" },
		{ "caf\xc3\xa9\n", 0, MIME_CLASS_TEXT, 0, NULL, MIME_QP,
		    "utf-8" },
		{ "caf\xe9 and more plain text\n", 0, MIME_CLASS_TEXT, 1,
		    "iso-8859-1", MIME_QP, "iso-8859-1" },
		{ "\xe9\xe8\xe0\xf9\xe9\xe8 x\n", 0, MIME_CLASS_TEXT, 1,
		    "unknown-8bit", MIME_BASE64, "unknown-8bit" },
		{ "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82\n", 0,
		    MIME_CLASS_TEXT, 0, NULL, MIME_QP, "utf-8" },
		{ "over\xc0\xaflong\n", 0, MIME_CLASS_TEXT, 1, NULL, MIME_QP,
		    "unknown-8bit" },
		{ "surrogate \xed\xa0\x80\n", 0, MIME_CLASS_TEXT, 1, NULL,
		    MIME_QP, "unknown-8bit" },
		{ "cut \xe2\x82", 0, MIME_CLASS_TEXT, 1, NULL, MIME_QP,
		    "unknown-8bit" },
		{ "a\0b\n", 4, MIME_CLASS_TEXT, 1, NULL, MIME_BASE64, NULL },
		{ "a\0b\n", 4, MIME_CLASS_TEXT, 1, "utf-16le", MIME_BASE64,
		    "utf-16le" },
		{ "plain", 0, MIME_CLASS_BINARY, 1, NULL, MIME_BASE64,
		    "us-ascii" },
		{ "Subject: x\n\nbody\n", 0, MIME_CLASS_MESSAGE, 1, NULL,
		    MIME_7BIT, "us-ascii" },
		{ "Subject: \xc3\xa9\n\nbody\n", 0, MIME_CLASS_MESSAGE, 1, NULL,
		    MIME_8BIT, "utf-8" },
		{ "Subject: \xc3\xa9\n\nbody\n", 0, MIME_CLASS_MESSAGE, 0, NULL,
		    MIME_BASE64, "utf-8" },
	};
	struct mime_sniff s;
	size_t i, len;
	const char *cs;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		len = t[i].len ? t[i].len : strlen(t[i].in);
		mime_sniff_init(&s, "--=_");
		mime_sniff_feed(&s, t[i].in, len);
		mime_sniff_end(&s);
		t_streq(mime_cte_name(mime_choose(&s, t[i].cls, t[i].allow8)),
		    mime_cte_name(t[i].want), "choose %zu", i);
		cs = mime_charset(&s, t[i].magic_cs);
		t_streq(cs, t[i].charset, "charset %zu", i);
	}
}

/* Long lines: 998 is 7bit, 999 needs quoted-printable. */
static void
test_choose_long(void)
{
	static const struct {
		size_t		 n;
		enum mime_cte	 want;
	} t[] = {
		{ 997, MIME_7BIT }, { 998, MIME_7BIT }, { 999, MIME_QP },
		{ 2000, MIME_QP },
	};
	struct mime_sniff s;
	size_t i;
	char *in;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		in = rep('x', t[i].n, "\nshort\n");
		mime_sniff_init(&s, "--=_");
		mime_sniff_feed(&s, in, strlen(in));
		mime_sniff_end(&s);
		t_inteq(s.longest, t[i].n, "longest line of %zu", t[i].n);
		t_streq(mime_cte_name(mime_choose(&s, MIME_CLASS_TEXT, 1)),
		    mime_cte_name(t[i].want), "a line of %zu", t[i].n);
		free(in);
	}
}

/* What sniffing notes, whole and fed a byte at a time. */
static void
test_sniff(void)
{
	static const struct {
		const char	*in;
		const char	*avoid;
		int		 dash, from, avoided, final_nl, utf8;
		long		 bare_cr, bare_lf, lines;
	} t[] = {
		{ "", NULL, 0, 0, 0, 1, 1, 0, 0, 0 },
		{ "a\nb", NULL, 0, 0, 0, 0, 1, 0, 1, 1 },
		{ "a\r\nb\r\n", NULL, 0, 0, 0, 1, 1, 0, 0, 2 },
		{ "a\rb\n", NULL, 0, 0, 0, 1, 1, 1, 1, 2 },
		{ "x\n--y\n", NULL, 1, 0, 0, 1, 1, 0, 2, 2 },
		{ "x -- y\n", NULL, 0, 0, 0, 1, 1, 0, 1, 1 },
		{ "From x\n", NULL, 0, 1, 0, 1, 1, 0, 1, 1 },
		{ "Fromx\n", NULL, 0, 0, 0, 1, 1, 0, 1, 1 },
		{ "a\r--=_B\r\n", "--=_B", 1, 0, 1, 1, 1, 1, 0, 2 },
		{ "--=_A\n", "--=_B", 1, 0, 0, 1, 1, 0, 1, 1 },
		{ "\xc3\xa9\xf0\x9f\x93\xac\n", NULL, 0, 0, 0, 1, 1, 0, 1, 1 },
		{ "\xc3\n", NULL, 0, 0, 0, 1, 0, 0, 1, 1 },
		{ "\xf4\x90\x80\x80", NULL, 0, 0, 0, 0, 0, 0, 0, 0 },
	};
	struct mime_sniff a, b;
	size_t i, j, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		n = strlen(t[i].in);
		mime_sniff_init(&a, t[i].avoid);
		mime_sniff_feed(&a, t[i].in, n);
		mime_sniff_end(&a);
		mime_sniff_init(&b, t[i].avoid);
		for (j = 0; j < n; j++)
			mime_sniff_feed(&b, t[i].in + j, 1);
		mime_sniff_end(&b);
		t_ok(a.dash_line == t[i].dash && a.from_line == t[i].from &&
		    a.avoid_line == t[i].avoided &&
		    a.final_nl == t[i].final_nl && a.utf8 == t[i].utf8 &&
		    a.bare_cr == t[i].bare_cr && a.bare_lf == t[i].bare_lf &&
		    a.lines == t[i].lines,
		    "sniff %zu: dash %d from %d avoid %d nl %d utf8 %d cr %ld "
		    "lf %ld lines %ld", i, a.dash_line, a.from_line,
		    a.avoid_line, a.final_nl, a.utf8, (long)a.bare_cr,
		    (long)a.bare_lf, (long)a.lines);
		t_ok(a.dash_line == b.dash_line && a.from_line == b.from_line &&
		    a.avoid_line == b.avoid_line && a.utf8 == b.utf8 &&
		    a.longest == b.longest && a.hi == b.hi &&
		    a.lines == b.lines && a.bare_cr == b.bare_cr,
		    "sniff %zu: a byte at a time agrees", i);
	}
}

static void
test_param(void)
{
	static const struct {
		const char	*name;
		const char	*value;
		int		 fallback;
		const char	*want;
	} t[] = {
		{ "charset", "utf-8", 0, "X: y; charset=utf-8" },
		{ "boundary", "=_abc", 0, "X: y; boundary=\"=_abc\"" },
		{ "filename", "report.pdf", 1,
		    "X: y; filename=\"report.pdf\"" },
		{ "filename", "my \"q\" \\ file.txt", 1,
		    "X: y; filename=\"my \\\"q\\\" \\\\ file.txt\"" },
		{ "filename", "with space.txt", 1,
		    "X: y; filename=\"with space.txt\"" },
		{ "filename", "r\xc3\xa9sum\xc3\xa9.pdf", 1,
		    "X: y; filename*=utf-8''r%C3%A9sum%C3%A9.pdf;"
		    " filename=\"r_sum_.pdf\"" },
		{ "filename", "r\xc3\xa9sum\xc3\xa9 de Fran\xc3\xa7ois.pdf", 1,
		    "X: y; filename*=utf-8''r%C3%A9sum%C3%A9%20de%20Fran%C3%A7"
		    "ois.pdf;\r\n filename=\"r_sum_ de Fran_ois.pdf\"" },
		{ "filename", "r\xc3\xa9sum\xc3\xa9.pdf", 0,
		    "X: y; filename*=utf-8''r%C3%A9sum%C3%A9.pdf" },
		{ "filename", "it's (x).txt", 1,
		    "X: y; filename=\"it's (x).txt\"" },
		{ "filename",
		    "\xd0\x9e\xd1\x82\xd1\x87\xd0\xb5\xd1\x82 \xd0\xb7\xd0\xb0 "
		    "\xd1\x82\xd1\x80\xd0\xb5\xd1\x82\xd0\xb8\xd0\xb9 \xd0\xba"
		    "\xd0\xb2\xd0\xb0\xd1\x80\xd1\x82\xd0\xb0\xd0\xbb 2024.pdf",
		    1,
		    "X: y;\r\n"
		    " filename*0*=utf-8''%D0%9E%D1%82%D1%87%D0%B5%D1%82%20"
		    "%D0%B7%D0%B0%20%D1%82;\r\n"
		    " filename*1*=%D1%80%D0%B5%D1%82%D0%B8%D0%B9%20%D0%BA%D0%B2"
		    "%D0%B0%D1%80%D1%82;\r\n"
		    " filename*2*=%D0%B0%D0%BB%202024.pdf;\r\n"
		    " filename=\"_____ __ ______ _______ 2024.pdf\"" },
		{ "filename", "a very long file name that goes on and on "
		    "and on past the end of the line.txt", 0,
		    "X: y;\r\n"
		    " filename*0*=utf-8''a%20very%20long%20file%20name%20that"
		    "%20goes%20on%20and;\r\n"
		    " filename*1*=%20on%20and%20on%20past%20the%20end%20of"
		    "%20the%20line.txt" },
	};
	struct buf b;
	size_t i;
	int r;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_init(&b, 0);
		buf_adds(&b, "X: y");
		r = mime_param(&b, t[i].name, t[i].value, t[i].fallback);
		t_ok(r == 0, "param %zu: accepted", i);
		t_streq(buf_str(&b), t[i].want, "param %zu", i);
		t_ok(lines_ok(b.data, b.len, t[i].fallback ? 998 : 78),
		    "param %zu: 7-bit, short lines", i);
		buf_release(&b);
	}
	buf_init(&b, 0);
	buf_adds(&b, "X: y");
	t_ok(mime_param(&b, "filename", "bad \xc3(", 1) == -1 &&
	    strcmp(buf_str(&b), "X: y") == 0,
	    "param: invalid UTF-8 refused, nothing written");
	buf_release(&b);
}

static void
test_boundary(void)
{
	char a[MIME_BOUNDARY_LEN + 1], b[MIME_BOUNDARY_LEN + 1];
	size_t i;
	int alnum = 1;

	t_ok(mime_boundary(a) == 0 && mime_boundary(b) == 0, "boundaries");
	t_inteq(strlen(a), MIME_BOUNDARY_LEN, "boundary length");
	t_ok(a[0] == '=' && a[1] == '_', "boundary starts with '=_'");
	for (i = 2; i < MIME_BOUNDARY_LEN; i++)
		if (!((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' &&
		    a[i] <= 'z') || (a[i] >= 'A' && a[i] <= 'Z')))
			alnum = 0;
	t_ok(alnum, "boundary: 28 letters and digits after '=_'");
	t_ok(strcmp(a, b) != 0, "two boundaries differ");
}

/* "=_" cannot occur in base64 or quoted-printable of any bytes. */
static void
test_boundary_absent(void)
{
	unsigned char in[3000];
	char out[MIME_QP_MAX(sizeof(in)) + B64_MIME_LEN(sizeof(in)) + 1];
	struct mime_qp q;
	size_t i, k, n;
	int ok = 1;

	srand(7);
	for (k = 0; k < 200 && ok; k++) {
		for (i = 0; i < sizeof(in); i++)
			in[i] = (unsigned char)(k % 3 == 0 ? "=_-\r\n"[rand() %
			    5] : rand() % 256);
		n = b64_encode_mime(in, sizeof(in), out);
		out[n] = '\0';
		if (strstr(out, "=_") != NULL)
			ok = 0;
		mime_qp_init(&q, (int)(k & 1));
		n = mime_qp_encode(&q, in, sizeof(in), out);
		n += mime_qp_finish(&q, out + n);
		out[n] = '\0';
		if (strstr(out, "=_") != NULL || strncmp(out, "--", 2) == 0 ||
		    strstr(out, "\n--") != NULL)
			ok = 0;
	}
	t_ok(ok, "no '=_' in base64 or quoted-printable of 200 inputs");
}

static void
test_content_id(void)
{
	static const struct {
		const char	*name;
		const char	*want;
	} t[] = {
		{ "logo.png", "<logo.png>" },
		{ "my logo.png", "<my%20logo.png>" },
		{ "100%.png", "<100%25.png>" },
		{ "caf\xc3\xa9.png", "<caf%C3%A9.png>" },
		{ "a<b>@c.png", "<a%3Cb%3E%40c.png>" },
	};
	struct buf b;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf_init(&b, 0);
		mime_content_id(&b, t[i].name);
		t_streq(buf_str(&b), t[i].want, "content-id '%s'", t[i].name);
		buf_release(&b);
	}
}

static void
test_types(void)
{
	static const struct {
		const char	*type;
		int		 valid;
		enum mime_class	 cls;
	} t[] = {
		{ "text/plain", 1, MIME_CLASS_TEXT },
		{ "text/x-c", 1, MIME_CLASS_TEXT },
		{ "application/json", 1, MIME_CLASS_TEXT },
		{ "image/svg+xml", 1, MIME_CLASS_TEXT },
		{ "application/vnd.api+json", 1, MIME_CLASS_TEXT },
		{ "application/pdf", 1, MIME_CLASS_BINARY },
		{ "image/png", 1, MIME_CLASS_BINARY },
		{ "message/rfc822", 1, MIME_CLASS_MESSAGE },
		{ "text", 0, MIME_CLASS_BINARY },
		{ "text/", 0, MIME_CLASS_TEXT },
		{ "/plain", 0, MIME_CLASS_BINARY },
		{ "text/pl ain", 0, MIME_CLASS_TEXT },
		{ "text/plain;x=y", 0, MIME_CLASS_TEXT },
		{ "a/b/c", 0, MIME_CLASS_BINARY },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		t_inteq(mime_type_valid(t[i].type), t[i].valid, "valid '%s'",
		    t[i].type);
		if (t[i].valid)
			t_inteq(mime_class_of(t[i].type), t[i].cls,
			    "class of '%s'", t[i].type);
	}
}

/* ------------------------------------------------------------ downgrade */

struct sink {
	struct buf	 b;
};

static int
sink_emit(void *arg, const char *p, size_t n, struct err *e)
{
	struct sink *s = arg;

	(void)e;
	return buf_add(&s->b, p, n);
}

/* Runs both passes over in; step: feed this many bytes at a time. */
static char *
downgrade(const char *in, size_t n, size_t step, size_t *outlen)
{
	struct mime_dg_plan *plan = mime_dg_plan_new();
	struct mime_dg *d;
	struct sink s;
	struct err e;
	size_t i;

	d = mime_dg_scanner(plan);
	for (i = 0; i < n; i += step)
		mime_dg_feed(d, in + i, n - i < step ? n - i : step, &e);
	mime_dg_finish(d, &e);
	mime_dg_free(d);
	buf_init(&s.b, 0);
	d = mime_dg_converter(plan, sink_emit, &s);
	for (i = 0; i < n; i += step)
		mime_dg_feed(d, in + i, n - i < step ? n - i : step, &e);
	mime_dg_finish(d, &e);
	mime_dg_free(d);
	mime_dg_plan_free(plan);
	*outlen = s.b.len;
	return buf_detach(&s.b);
}

/* The long-line mode: which leaves are converted, signed parts named. */
static char *
downgrade_mode(const char *in, size_t n, unsigned mode, char *signed_out,
    size_t signed_len, size_t *outlen)
{
	struct mime_dg_plan *plan = mime_dg_plan_new();
	struct mime_dg *d;
	struct sink s;
	struct err e;

	mime_dg_plan_mode(plan, mode);
	d = mime_dg_scanner(plan);
	mime_dg_feed(d, in, n, &e);
	mime_dg_finish(d, &e);
	mime_dg_free(d);
	snprintf(signed_out, signed_len, "%s", mime_dg_plan_signed(plan) ?
	    mime_dg_plan_signed(plan) : "");
	buf_init(&s.b, 0);
	d = mime_dg_converter(plan, sink_emit, &s);
	mime_dg_feed(d, in, n, &e);
	mime_dg_finish(d, &e);
	mime_dg_free(d);
	mime_dg_plan_free(plan);
	*outlen = s.b.len;
	return buf_detach(&s.b);
}

static size_t
longest_line(const char *s, size_t n)
{
	size_t i, col = 0, best = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n')
			col = 0;
		else if (++col > best)
			best = col;
	}
	return best;
}

static void
test_downgrade_long_lines(void)
{
	struct buf in;
	char sig[200], *out;
	size_t n, i;

	/* No MIME, a 3000-octet ASCII line: converted. */
	buf_init(&in, 0);
	buf_adds(&in, "From: a@b\r\n\r\n");
	for (i = 0; i < 3000; i++)
		buf_addc(&in, 'a' + (int)(i % 26));
	buf_adds(&in, "\r\n");
	out = downgrade_mode(in.data, in.len, MIME_DG_LONG, sig, sizeof(sig),
	    &n);
	t_ok(longest_line(out, n) <= 76 && strstr(out, "Content-Transfer-"
	    "Encoding: quoted-printable\r\n") != NULL && strstr(out,
	    "MIME-Version: 1.0\r\n") != NULL && sig[0] == '\0',
	    "long lines: a message without MIME becomes QP");
	free(out);
	buf_release(&in);

	/* 8-bit, short lines, long-line mode only: left alone. */
	out = downgrade_mode("From: a@b\r\n\r\n\xc3\xa9\r\n", 15,
	    MIME_DG_LONG, sig, sizeof(sig), &n);
	t_ok(n == 15 && memcmp(out, "From: a@b\r\n\r\n\xc3\xa9\r\n", 15) ==
	    0, "long lines: an 8-bit part with short lines stays");
	free(out);

	/* A base64 part with a long line is not touched; a signed one is
	   named. */
	buf_init(&in, 0);
	buf_adds(&in, "MIME-Version: 1.0\r\nContent-Type: multipart/signed; "
	    "boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; "
	    "charset=us-ascii\r\n\r\n");
	for (i = 0; i < 1200; i++)
		buf_addc(&in, 'z');
	buf_adds(&in, "\r\n--b\r\nContent-Type: application/pgp-signature"
	    "\r\n\r\nsig\r\n--b--\r\n");
	out = downgrade_mode(in.data, in.len, MIME_DG_LONG | MIME_DG_8BIT,
	    sig, sizeof(sig), &n);
	t_ok(n == in.len && memcmp(out, in.data, n) == 0,
	    "long lines: a signed part is sent as it is");
	t_streq(sig, "part 2 (text/plain) of a multipart/signed, with a line "
	    "of 1200 octets", "long lines: the signed part is named");
	free(out);
	buf_release(&in);
}

static void
test_downgrade(void)
{
	static const struct {
		const char	*what;
		const char	*in;
		const char	*want;		/* NULL: same as in */
	} t[] = {
		{ "7-bit message left alone",
		  "From: a@b\r\nSubject: x\r\n\r\nhello\r\n", NULL },
		{ "no MIME, UTF-8 body",
		  "From: a@b\r\n\r\nGr\xc3\xbc\xc3\x9f""e a=b  \r\nFrom x\r\n",
		  "From: a@b\r\nMIME-Version: 1.0\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "Gr=C3=BC=C3=9Fe a=3Db =20\r\n=46rom x\r\n" },
		{ "no MIME, Latin-1 body",
		  "From: a@b\r\n\r\ncaf\xe9\r\n",
		  "From: a@b\r\nMIME-Version: 1.0\r\n"
		  "Content-Type: text/plain; charset=unknown-8bit\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "caf=E9\r\n" },
		{ "single part declared 8bit",
		  "MIME-Version: 1.0\r\nContent-Type: text/plain; "
		  "charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
		  "Subject: s\r\n\r\n\xc3\xa9\r\n",
		  "MIME-Version: 1.0\r\nContent-Type: text/plain; "
		  "charset=utf-8\r\nSubject: s\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "=C3=A9\r\n" },
		{ "declared 7bit but 8-bit inside (PHP mail)",
		  "MIME-Version: 1.0\r\nContent-Type: text/plain; "
		  "charset=UTF-8\r\n\r\n\xc3\xa9\r\n",
		  "MIME-Version: 1.0\r\nContent-Type: text/plain; "
		  "charset=UTF-8\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "=C3=A9\r\n" },
		{ "multipart: the 8bit part only; the delimiter's CRLF kept",
		  "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
		  "boundary=\"=_B\"\r\n\r\n--=_B\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: 8bit\r\n\r\n"
		  "\xc3\xa9t\xc3\xa9\r\n\r\n--=_B\r\n"
		  "Content-Type: application/octet-stream\r\n"
		  "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n"
		  "--=_B--\r\n",
		  "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
		  "boundary=\"=_B\"\r\n\r\n--=_B\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "=C3=A9t=C3=A9\r\n\r\n--=_B\r\n"
		  "Content-Type: application/octet-stream\r\n"
		  "Content-Transfer-Encoding: base64\r\n\r\nAAEC\r\n"
		  "--=_B--\r\n" },
		{ "nested alternative in mixed, folded Content-Type",
		  "Content-Type: multipart/mixed;\r\n boundary=outer\r\n\r\n"
		  "preamble\r\n--outer\r\nContent-Type: multipart/alternative;"
		  " boundary=\"in ner\"\r\n\r\n--in ner\r\n"
		  "Content-Type: text/plain\r\n\r\nplain\r\n--in ner\r\n"
		  "Content-Type: text/html\r\n"
		  "Content-Transfer-Encoding: 8bit\r\n\r\n<p>\xc3\xa9</p>\r\n"
		  "--in ner--\r\n--outer--\r\nepilogue\r\n",
		  "Content-Type: multipart/mixed;\r\n boundary=outer\r\n\r\n"
		  "preamble\r\n--outer\r\nContent-Type: multipart/alternative;"
		  " boundary=\"in ner\"\r\n\r\n--in ner\r\n"
		  "Content-Type: text/plain\r\n\r\nplain\r\n--in ner\r\n"
		  "Content-Type: text/html\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "<p>=C3=A9</p>\r\n"
		  "--in ner--\r\n--outer--\r\nepilogue\r\n" },
		{ "message/rfc822 entered; its 8bit label becomes 7bit",
		  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		  "Content-Type: message/rfc822\r\n"
		  "Content-Transfer-Encoding: 8bit\r\n\r\n"
		  "Subject: inner\r\n\r\nbody \xc3\xa9\r\n--b--\r\n",
		  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		  "Content-Type: message/rfc822\r\n"
		  "Content-Transfer-Encoding: 7bit\r\n\r\n"
		  "Subject: inner\r\nMIME-Version: 1.0\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "body =C3=A9\r\n--b--\r\n" },
		{ "7-bit message/rfc822 left alone",
		  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		  "Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit"
		  "\r\n\r\n\xc3\xa9\r\n--b\r\nContent-Type: message/rfc822\r\n"
		  "\r\nSubject: inner\r\n\r\nbody\r\n--b--\r\n",
		  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		  "Content-Type: text/plain\r\n"
		  "Content-Transfer-Encoding: quoted-printable"
		  "\r\n\r\n=C3=A9\r\n--b\r\nContent-Type: message/rfc822\r\n"
		  "\r\nSubject: inner\r\n\r\nbody\r\n--b--\r\n" },
		{ "quoted-printable part with raw 8-bit is not ours to fix",
		  "Content-Type: text/plain\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "\xc3\xa9=3D\r\n", NULL },
		{ "a digest's parts are messages",
		  "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n"
		  "\r\nSubject: one\r\n\r\n\xc3\xa9\r\n--d--\r\n",
		  "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n"
		  "\r\nSubject: one\r\nMIME-Version: 1.0\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "=C3=A9\r\n--d--\r\n" },
		{ "the close delimiter without a line end",
		  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		  "Content-Transfer-Encoding: 8bit\r\n\r\n\xc3\xa9\r\n--b--",
		  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9"
		  "\r\n--b--" },
		{ "a part whose header has no blank line after it",
		  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		  "Content-Transfer-Encoding: 8bit\r\n\xc3\xa9: x\r\n--b--\r\n",
		  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "=C3=A9: x\r\n--b--\r\n" },
		{ "a multipart declared 8bit becomes 7bit",
		  "Content-Type: multipart/mixed; boundary=b\r\n"
		  "Content-Transfer-Encoding: 8bit\r\n\r\n--b\r\n\r\n"
		  "\xc3\xa9\r\n--b--\r\n",
		  "Content-Type: multipart/mixed; boundary=b\r\n"
		  "Content-Transfer-Encoding: 7bit\r\n\r\n--b\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "=C3=A9\r\n--b--\r\n" },
	};
	size_t i, n, m, step;
	char *got, *again;
	int same;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		got = downgrade(t[i].in, strlen(t[i].in), 1 << 20, &n);
		t_streq(got, t[i].want ? t[i].want : t[i].in, "downgrade: %s",
		    t[i].what);
		same = 1;
		for (step = 1; step <= 7; step += 3) {
			again = downgrade(t[i].in, strlen(t[i].in), step, &m);
			if (m != n || memcmp(again, got, n) != 0)
				same = 0;
			free(again);
		}
		t_ok(same, "downgrade: %s: fed in small pieces, the same",
		    t[i].what);
		free(got);
	}
}

/* Both passes; NULL and e filled when the converter refuses. */
static char *
downgrade_e(const char *in, size_t n, size_t step, struct err *e)
{
	struct mime_dg_plan *plan = mime_dg_plan_new();
	struct mime_dg *d;
	struct sink s;
	size_t i;
	int r = 0;

	err_clear(e);
	d = mime_dg_scanner(plan);
	for (i = 0; i < n; i += step)
		mime_dg_feed(d, in + i, n - i < step ? n - i : step, e);
	mime_dg_finish(d, e);
	mime_dg_free(d);
	buf_init(&s.b, 0);
	d = mime_dg_converter(plan, sink_emit, &s);
	for (i = 0; i < n && r == 0; i += step)
		r = mime_dg_feed(d, in + i, n - i < step ? n - i : step, e);
	if (r == 0)
		r = mime_dg_finish(d, e);
	mime_dg_free(d);
	mime_dg_plan_free(plan);
	if (r == -1) {
		buf_release(&s.b);
		return NULL;
	}
	return buf_detach(&s.b);
}

/*
 * Issue 8 row 12: 8-bit header fields for a server with neither 8BITMIME
 * nor SMTPUTF8.  Unstructured text and display names become RFC 2047
 * encoded-words, IDN domains A-labels; what cannot be encoded (a
 * structured field, an 8-bit local part, a comment) refuses the message
 * (ERR_DATA, 65), never goes out raw.
 */
static void
test_downgrade_headers(void)
{
	static const struct {
		const char	*what;
		const char	*in;
		const char	*want;		/* NULL: refused */
		const char	*why;		/* a piece of the refusal */
	} t[] = {
		{ "UTF-8 Subject",
		  "Subject: Gr\xc3\xbc\xc3\x9f""e\r\nTo: b@x.org\r\n\r\nhi\r\n",
		  "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\r\nTo: b@x.org\r\n"
		  "\r\nhi\r\n", NULL },
		{ "folded Subject, 8-bit on the second line",
		  "Subject: a\r\n b\xc3\xa9\r\n\r\nhi\r\n",
		  "Subject: a =?UTF-8?B?YsOp?=\r\n\r\nhi\r\n", NULL },
		{ "Latin-1 Subject: unknown-8bit",
		  "Subject: caf\xe9\r\n\r\nhi\r\n",
		  "Subject: =?UNKNOWN-8BIT?B?Y2Fm6Q==?=\r\n\r\nhi\r\n", NULL },
		{ "an X- field is unstructured",
		  "X-Note: \xc3\xa9t\xc3\xa9\r\n\r\nhi\r\n",
		  "X-Note: =?UTF-8?B?w6l0w6k=?=\r\n\r\nhi\r\n", NULL },
		{ "display name",
		  "From: J\xc3\xb6rg <j@example.org>\r\n\r\nhi\r\n",
		  "From: =?UTF-8?B?SsO2cmc=?= <j@example.org>\r\n\r\nhi\r\n",
		  NULL },
		{ "quoted display name, two addresses",
		  "To: \"M\xc3\xbcller, A\" <a@x.org>, b@x.org\r\n\r\nhi\r\n",
		  "To: =?UTF-8?Q?M=C3=BCller=2C_A?= <a@x.org>, b@x.org\r\n\r\n"
		  "hi\r\n", NULL },
		{ "IDN domain: A-labels",
		  "To: bob@b\xc3\xbc""cher.example\r\n\r\nhi\r\n",
		  "To: bob@xn--bcher-kva.example\r\n\r\nhi\r\n", NULL },
		{ "8-bit local part: refused",
		  "To: j\xc3\xb6rg@example.org\r\n\r\nhi\r\n", NULL,
		  "the To header cannot be made 7-bit: an address has a "
		  "non-ASCII local part" },
		{ "8-bit comment: refused",
		  "Cc: a@x.org (J\xc3\xb6rg)\r\n\r\nhi\r\n", NULL,
		  "a comment or a group name holds non-ASCII text" },
		{ "8-bit Message-ID: refused",
		  "Message-ID: <\xc3\xa9@x>\r\n\r\nhi\r\n", NULL,
		  "the Message-ID header cannot be made 7-bit: it is a "
		  "structured field" },
		{ "8-bit filename in a part's header: refused",
		  "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
		  "Content-Type: text/plain\r\nContent-Disposition: attachment;"
		  " filename=\"\xc3\xa9.txt\"\r\n\r\nx\r\n--b--\r\n", NULL,
		  "Content-Disposition header cannot be made 7-bit" },
		{ "8-bit header and 8-bit body",
		  "Subject: \xc3\xa9\r\n\r\n\xc3\xa9\r\n",
		  "Subject: =?UTF-8?B?w6k=?=\r\nMIME-Version: 1.0\r\n"
		  "Content-Type: text/plain; charset=utf-8\r\n"
		  "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		  "=C3=A9\r\n", NULL },
	};
	struct err e;
	size_t i, step;
	char *got, *again;
	int same;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		got = downgrade_e(t[i].in, strlen(t[i].in), 1 << 20, &e);
		if (t[i].want != NULL)
			t_streq(got != NULL ? got : e.text, t[i].want,
			    "8-bit header: %s", t[i].what);
		else
			t_ok(got == NULL && e.kind == ERR_DATA &&
			    strstr(e.text, t[i].why) != NULL,
			    "8-bit header: %s: %s", t[i].what, e.text);
		same = 1;
		for (step = 1; step <= 7; step += 3) {
			again = downgrade_e(t[i].in, strlen(t[i].in), step, &e);
			if ((again == NULL) != (got == NULL) || (again != NULL &&
			    strcmp(again, got) != 0))
				same = 0;
			free(again);
		}
		t_ok(same, "8-bit header: %s: fed in small pieces, the same",
		    t[i].what);
		free(got);
	}
}

/*
 * Class 0: an 8-bit header field as long as msg lets through is held
 * whole and encoded; a longer one (in a part's header, which msg sees as
 * body) is refused when it is 8-bit, passed as it is when it is not.
 */
static void
test_downgrade_hold(void)
{
	struct buf in;
	struct err e;
	char *got;
	int over;

	for (over = 0; over <= 1; over++) {
		/* The field, MSG_FIELD_MAX (+1) octets without its last
		   CRLF, folded about every 500. */
		buf_init(&in, 0);
		buf_adds(&in, "X-Long: \xc3\xa9");
		while (in.len < MSG_FIELD_MAX + (size_t)over) {
			if ((in.len + 3) % 500 == 0 &&
			    in.len + 3 <= MSG_FIELD_MAX + (size_t)over) {
				buf_adds(&in, "\r\n ");
				continue;
			}
			buf_addc(&in, 'a');
		}
		buf_adds(&in, "\r\n\r\nbody\r\n");
		got = downgrade_e(in.data, in.len, 1 << 20, &e);
		if (!over)
			t_ok(got != NULL && strncmp(got, "X-Long: =?UTF-8?", 16) ==
			    0, "a %d-octet 8-bit field: encoded whole",
			    MSG_FIELD_MAX);
		else
			t_ok(got == NULL && strstr(e.text, "too long to "
			    "encode") != NULL, "one octet longer: refused: %s",
			    e.text);
		free(got);
		buf_release(&in);
	}
	/* Too long to hold, and 7-bit: passed as it is. */
	buf_init(&in, 0);
	buf_adds(&in, "X-Long: a");
	while (in.len < MSG_FIELD_MAX + 10)
		buf_adds(&in, in.len % 500 == 0 ? "\r\n a" : "a");
	buf_adds(&in, "\r\nSubject: \xc3\xa9\r\n\r\nbody\r\n");
	got = downgrade_e(in.data, in.len, 1 << 20, &e);
	t_ok(got != NULL && strncmp(got, in.data, MSG_FIELD_MAX + 10) == 0 &&
	    strstr(got, "Subject: =?UTF-8?B?w6k=?=") != NULL,
	    "a 7-bit field too long to hold passes as it is; the next one is "
	    "still encoded");
	free(got);
	buf_release(&in);
}

/* A line far longer than the filter's line buffer, and the size pass. */
static void
test_downgrade_long(void)
{
	const char *head = "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\n";
	struct mime_dg_plan *plan;
	struct buf in;
	char *got, *dec, tmpl[] = "/tmp/test_mime.XXXXXX";
	const char *body;
	size_t n, i;
	off_t size;
	struct err e;
	long d;
	int fd;

	buf_init(&in, 0);
	buf_adds(&in, head);
	for (i = 0; i < 5000; i++)
		buf_adds(&in, i % 7 ? "x" : "\xc3\xa9");
	buf_adds(&in, "\r\nend\r\n");
	got = downgrade(in.data, in.len, 1000, &n);
	body = strstr(got, "\r\n\r\n");
	t_ok(body != NULL && lines_ok(body + 4, n - (size_t)(body + 4 - got),
	    76), "downgrade: a 5000-character line is soft-broken");
	dec = xmalloc(n);
	d = body != NULL ? qp_decode(body + 4, n - (size_t)(body + 4 - got),
	    dec) : -1;
	t_ok(d == (long)(in.len - strlen(head)) &&
	    memcmp(dec, in.data + strlen(head), (size_t)d) == 0,
	    "downgrade: the long line decodes back exactly");
	free(dec);

	fd = mkstemp(tmpl);
	unlink(tmpl);
	t_ok(fd != -1 && write(fd, in.data, in.len) == (ssize_t)in.len,
	    "temporary file");
	t_ok(mime_dg_plan_fd(fd, (off_t)in.len, &plan, &size, &e) == 0,
	    "mime_dg_plan_fd");
	t_inteq(size, n, "mime_dg_plan_fd: the size of the converted message");
	mime_dg_plan_free(plan);
	t_ok(mime_dg_plan_fd(fd, (off_t)in.len + 10, &plan, &size, &e) == -1 &&
	    e.kind == ERR_IO, "mime_dg_plan_fd: a short file is an error");
	close(fd);
	free(got);
	buf_release(&in);
}

int
main(void)
{
	test_qp();
	test_qp_soft();
	test_qp_roundtrip();
	test_base64();
	test_choose();
	test_choose_long();
	test_sniff();
	test_param();
	test_boundary();
	test_boundary_absent();
	test_content_id();
	test_types();
	test_downgrade();
	test_downgrade_headers();
	test_downgrade_hold();
	test_downgrade_long();
	test_downgrade_long_lines();
	return t_done();
}
