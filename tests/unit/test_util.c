/*
 * test_util: the util library — capped buffers, strings, xtext, base64,
 * random ids, string vectors.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/b64.h"
#include "util/buf.h"
#include "util/rand.h"
#include "util/str.h"
#include "util/strv.h"
#include "t.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static void
test_buf(void)
{
	struct buf b;

	buf_init(&b, 8);
	t_ok(buf_adds(&b, "12345678") == 0 && b.len == 8, "buf: fills to cap");
	t_ok(buf_addc(&b, 'x') == -1 && b.len == 8,
	    "buf: one byte over the cap is refused, nothing changes");
	t_streq(buf_str(&b), "12345678", "buf: contents intact after refusal");
	buf_consume(&b, 3);
	t_streq(buf_str(&b), "45678", "buf: consume drops the front");
	buf_truncate(&b, 2);
	t_streq(buf_str(&b), "45", "buf: truncate");
	t_ok(buf_printf(&b, "%d%s", 12, "ab") == 0, "buf: printf within cap");
	t_streq(buf_str(&b), "4512ab", "buf: printf appends");
	t_ok(buf_printf(&b, "%s", "xyz") == -1 && b.len == 6,
	    "buf: printf over the cap is refused whole");
	buf_release(&b);
	t_ok(b.data == NULL && b.len == 0, "buf: release empties");

	buf_init(&b, 0);
	for (int i = 0; i < 10000; i++)
		buf_addc(&b, 'a' + i % 26);
	t_ok(b.len == 10000 && b.data[9999] == 'a' + 9999 % 26,
	    "buf: unlimited grows");
	char *d = buf_detach(&b);
	t_ok(strlen(d) == 10000 && b.data == NULL, "buf: detach hands over");
	free(d);
}

static void
test_str(void)
{
	static const struct {
		const char *in;
		int ctl;
	} ctl[] = {
		{ "plain", 0 }, { "tab\there", 0 }, { "cr\rhere", 1 },
		{ "lf\nhere", 1 }, { "bell\a", 1 }, { "del\x7f", 1 },
		{ "utf8 \xc3\xa9", 0 },
	};
	size_t i;
	char buf[64];

	for (i = 0; i < N(ctl); i++)
		t_ok(str_has_ctl(ctl[i].in) == ctl[i].ctl, "str_has_ctl row %zu",
		    i);
	str_oneline(buf, sizeof(buf), "a\r\nb\tc  d\001e", 11);
	t_streq(buf, "a b c d?e", "str_oneline collapses and masks");
	str_oneline(buf, 5, "abcdefgh", 8);
	t_streq(buf, "abcd", "str_oneline truncates to fit");
	strcpy(buf, "  x y \t");
	t_streq(str_trim(buf), "x y", "str_trim");
	t_ok(str_caseeqn("To", 2, "to") && !str_caseeqn("To", 2, "tox"),
	    "str_caseeqn");
	t_ok(str_prefix("abc", "ab") && !str_prefix("ab", "abc"), "str_prefix");
	t_ok(str_caseprefix("EHLO x", "ehlo"), "str_caseprefix");
	t_ok(str_is_ascii("abc", 3) && !str_is_ascii("\xc3\xa9", 2),
	    "str_is_ascii");
}

static void
test_xtext(void)
{
	static const struct {
		const char *in, *out;
	} rows[] = {
		{ "bob@example.org", "bob@example.org" },
		{ "a+b=c", "a+2Bb+3Dc" },
		{ "with space", "with+20space" },
		{ "\xc3\xa9", "+C3+A9" },
		{ "", "" },
	};
	struct buf b, d;
	size_t i;

	for (i = 0; i < N(rows); i++) {
		buf_init(&b, 0);
		buf_init(&d, 0);
		str_xtext_encode(&b, rows[i].in);
		t_streq(buf_str(&b), rows[i].out, "xtext encode row %zu", i);
		t_ok(str_xtext_decode(&d, buf_str(&b)) == 0 &&
		    strcmp(buf_str(&d), rows[i].in) == 0,
		    "xtext round trip row %zu", i);
		buf_release(&b);
		buf_release(&d);
	}
	buf_init(&d, 0);
	t_ok(str_xtext_decode(&d, "bad+4") == -1, "xtext: short escape");
	t_ok(str_xtext_decode(&d, "bad+GG") == -1, "xtext: non-hex escape");
	buf_release(&d);
}

static void
test_b64(void)
{
	/* RFC 4648 section 10 vectors. */
	static const struct {
		const char *in, *out;
	} rows[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	char out[64], back[64];
	size_t i;
	long n;

	for (i = 0; i < N(rows); i++) {
		b64_encode(rows[i].in, strlen(rows[i].in), out);
		t_streq(out, rows[i].out, "base64 of '%s'", rows[i].in);
		n = b64_decode(out, strlen(out), back);
		t_ok(n == (long)strlen(rows[i].in) &&
		    memcmp(back, rows[i].in, (size_t)n) == 0,
		    "base64 decodes '%s' back", rows[i].out);
	}
	t_ok(b64_decode("Zm9v!", 5, back) == -1, "base64: bad length");
	t_ok(b64_decode("Zm9!", 4, back) == -1, "base64: bad character");
	t_ok(b64_decode("Z===", 4, back) == -1, "base64: too much padding");
	t_ok(b64_decode("Zg==Zg==", 8, back) == -1, "base64: padding inside");

	/* MIME lines: 57 bytes each, CRLF, same result piecewise. */
	unsigned char raw[200];
	char *whole, *pieces;
	size_t wn, pn;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(i * 7 + 3);
	whole = xmalloc(B64_MIME_LEN(sizeof(raw)));
	pieces = xmalloc(B64_MIME_LEN(sizeof(raw)));
	wn = b64_encode_mime(raw, sizeof(raw), whole);
	pn = b64_encode_mime(raw, 114, pieces);
	pn += b64_encode_mime(raw + 114, sizeof(raw) - 114, pieces + pn);
	t_ok(wn == B64_MIME_LEN(sizeof(raw)), "base64 MIME length formula");
	t_ok(wn == pn && memcmp(whole, pieces, wn) == 0,
	    "base64 MIME: pieces of 57k bytes give the same output");
	t_ok(memcmp(whole + 76, "\r\n", 2) == 0 && whole[78] != '\r',
	    "base64 MIME: 76 characters then CRLF");
	free(whole);
	free(pieces);
}

static void
test_rand_strv(void)
{
	char a[17], b[17];
	struct strv v = { NULL, 0 };

	t_ok(rand_alnum(a, 16) == 0 && strlen(a) == 16 &&
	    strspn(a, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz") == 16, "rand_alnum: 16 alnum chars");
	rand_alnum(b, 16);
	t_ok(strcmp(a, b) != 0, "rand_alnum: two draws differ");
	strv_add(&v, "x");
	strv_take(&v, xstrdup("y"));
	t_ok(v.n == 2 && v.v[2] == NULL && strv_has(&v, "y") &&
	    !strv_has(&v, "z"), "strv: add, take, terminator, has");
	strv_free(&v);
	t_ok(v.n == 0 && v.v == NULL, "strv: free empties");

	/* Growth by doubling: every entry and the terminator in place at
	   every size (a sanitizer build checks the bounds). */
	{
		char w[32];
		size_t i, bad = 0;

		for (i = 0; i < 20000; i++) {
			snprintf(w, sizeof(w), "%zu", i);
			strv_add(&v, w);
			if (v.v[v.n] != NULL || v.n != i + 1)
				bad++;
		}
		for (i = 0; i < v.n; i++) {
			snprintf(w, sizeof(w), "%zu", i);
			if (strcmp(v.v[i], w) != 0)
				bad++;
		}
		t_ok(bad == 0, "strv: 20,000 entries, each in place, "
		    "terminated");
		strv_free(&v);
	}
}

int
main(void)
{
	test_buf();
	test_str();
	test_xtext();
	test_b64();
	test_rand_strv();
	return t_done();
}
