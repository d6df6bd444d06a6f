/*
 * test_util: the util library — capped buffers, strings, xtext, base64,
 * random ids, string vectors.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "err.h"
#include "util/alloc.h"
#include "util/b64.h"
#include "util/buf.h"
#include "util/proc.h"
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
	t_streq(buf, "a b c d\\x01e", "str_oneline collapses and escapes");
	t_ok(str_oneline(buf, 5, "abcdefgh", 8) == 0, "str_oneline: says cut");
	t_streq(buf, "abcd", "str_oneline truncates to fit");
	t_ok(str_oneline(buf, 9, "abcdefgh", 8) == 1 &&
	    strcmp(buf, "abcdefgh") == 0, "str_oneline: says whole");
	strcpy(buf, "  x y \t");
	t_streq(str_trim(buf), "x y", "str_trim");
	t_ok(str_caseeqn("To", 2, "to") && !str_caseeqn("To", 2, "tox"),
	    "str_caseeqn");
	t_ok(str_prefix("abc", "ab") && !str_prefix("ab", "abc"), "str_prefix");
	t_ok(str_caseprefix("EHLO x", "ehlo"), "str_caseprefix");
	t_ok(str_is_ascii("abc", 3) && !str_is_ascii("\xc3\xa9", 2),
	    "str_is_ascii");
}

/* str_sanitize, str_oneline and str_json_escape on hostile text. */
static void
test_sanitize(void)
{
	static const struct {
		const char *name, *in, *line, *json;
	} rows[] = {
		{ "plain", "250 ok", "250 ok", "250 ok" },
		{ "UTF-8 kept", "Gr\xc3\xbc\xc3\x9f" "e", "Gr\xc3\xbc\xc3\x9f" "e",
		    "Gr\xc3\xbc\xc3\x9f" "e" },
		{ "ESC sequence", "a\x1b[2Jb", "a\\x1b[2Jb", "a\\u001b[2Jb" },
		{ "DEL", "a\x7f", "a\\x7f", "a\\u007f" },
		{ "C1 CSI as UTF-8", "a\xc2\x9b" "31mb", "a\\u009b" "31mb",
		    "a\\u009b" "31mb" },
		{ "C1 as a raw byte", "a\x9b" "31m", "a\\x9b" "31m",
		    "a\\ufffd" "31m" },
		{ "invalid UTF-8", "\xff\xc3(", "\\xff\\xc3(",
		    "\\ufffd\\ufffd(" },
		{ "overlong slash", "\xc0\xaf", "\\xc0\\xaf",
		    "\\ufffd\\ufffd" },
		{ "surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80",
		    "\\ufffd\\ufffd\\ufffd" },
		{ "RLO override", "a\xe2\x80\xae" "b", "a\\u202e" "b",
		    "a\xe2\x80\xae" "b" },
		{ "line separator", "a\xe2\x80\xa8" "b", "a\\u2028" "b",
		    "a\\u2028" "b" },
		{ "line breaks", "a\r\nb\n", "a b", "a\\r\\nb\\n" },
		{ "quotes", "say \"hi\" \\", "say \"hi\" \\",
		    "say \\\"hi\\\" \\\\" },
		{ "NUL", "a\0b", "a\\x00b", "a\\u0000b" },
	};
	struct buf b;
	size_t i, n;
	char line[64];

	for (i = 0; i < N(rows); i++) {
		n = strlen(rows[i].in);
		if (strcmp(rows[i].name, "NUL") == 0)
			n = 3;
		buf_init(&b, 0);
		t_ok(str_sanitize(&b, rows[i].in, n) == 0 &&
		    strcmp(buf_str(&b), rows[i].line) == 0,
		    "str_sanitize: %s: %s", rows[i].name, buf_str(&b));
		buf_release(&b);
		str_oneline(line, sizeof(line), rows[i].in, n);
		t_streq(line, rows[i].line, "str_oneline: %s", rows[i].name);
		buf_init(&b, 0);
		t_ok(str_json_escape(&b, rows[i].in, n) == 0 &&
		    strcmp(buf_str(&b), rows[i].json) == 0,
		    "str_json_escape: %s: %s", rows[i].name, buf_str(&b));
		buf_release(&b);
	}
	/* An escape or a character is never cut in half. */
	str_oneline(line, 5, "ab\x1b" "c", 4);
	t_streq(line, "ab", "str_oneline: an escape that does not fit is left");
	str_oneline(line, 4, "ab\xc3\xa9", 4);
	t_streq(line, "ab", "str_oneline: a character that does not fit is left");
	/* One byte over the cap: refused whole. */
	buf_init(&b, 6);
	t_ok(str_sanitize(&b, "a\x1b" "b", 3) == 0 && b.len == 6,
	    "str_sanitize: fills to the cap");
	buf_reset(&b);
	t_ok(str_sanitize(&b, "a\x1b" "bc", 4) == -1 && b.len == 0,
	    "str_sanitize: one byte over the cap changes nothing");
	buf_release(&b);
	buf_init(&b, 6);
	t_ok(str_json_escape(&b, "\x01", 1) == 0 && b.len == 6,
	    "str_json_escape: fills to the cap");
	buf_reset(&b);
	t_ok(str_json_escape(&b, "a\x01", 2) == -1 && b.len == 0,
	    "str_json_escape: one byte over the cap changes nothing");
	buf_release(&b);
	t_ok(str_utf8_len("\xf4\x8f\xbf\xbf", 4) == 4 &&
	    str_utf8_len("\xf4\x90\x80\x80", 4) == 0 &&
	    str_utf8_len("\xe2\x82", 2) == 0 && str_utf8_len("a", 1) == 1,
	    "str_utf8_len: the limits of UTF-8");
}

/* err: server text made safe, a cut text marked. */
static void
test_err(void)
{
	struct err e;
	char big[ERR_TEXT_MAX + 1];

	err_clear(&e);
	err_set(&e, ERR_TEMP, "server said: %s", "451 \x1b]0;owned\x07 "
	    "\xc2\x9b" "2J \xff");
	t_streq(e.text, "server said: 451 \\x1b]0;owned\\x07 \\u009b2J "
	    "\\xff", "err_set: controls, C1 and bad UTF-8 escaped");
	memset(big, 'a', sizeof(big) - 1);
	big[ERR_TEXT_MAX - 1] = '\0';
	err_set(&e, ERR_DATA, "%s", big);
	t_ok(strlen(e.text) == ERR_TEXT_MAX - 1 && strchr(e.text, '.') == NULL,
	    "err_set: a text that fits exactly is whole");
	big[ERR_TEXT_MAX - 1] = 'a';
	big[ERR_TEXT_MAX] = '\0';
	err_set(&e, ERR_DATA, "%s", big);
	t_ok(strlen(e.text) == ERR_TEXT_MAX - 1 &&
	    strcmp(e.text + ERR_TEXT_MAX - 4, "...") == 0,
	    "err_set: one byte over is cut and ends in ...");
	err_set(&e, ERR_DATA, "inner");
	err_prefix(&e, "outer %d: ", 1);
	t_streq(e.text, "outer 1: inner", "err_prefix");
	t_inteq(err_exitcode(&e), 65, "err_exitcode");
}

/* proc_run: output, status, deadline, cap, and what the command gets. */
static void
test_proc(void)
{
	struct timespec t0, t1;
	struct buf b;
	int st = -1, r;

	buf_init(&b, 0);
	t_ok(proc_run("printf 'a b\\n'; exit 3", 10, &b, &st) == 0 &&
	    WIFEXITED(st) && WEXITSTATUS(st) == 3 &&
	    strcmp(buf_str(&b), "a b\n") == 0, "proc_run: output and status");
	buf_reset(&b);
	t_ok(proc_run("read x || echo eof", 10, &b, &st) == 0 &&
	    strcmp(buf_str(&b), "eof\n") == 0, "proc_run: stdin is /dev/null");
	buf_reset(&b);
	t_ok(proc_run("ls /proc/self/fd | sort -n | tr '\\n' ' '", 10, &b,
	    &st) == 0 && strncmp(buf_str(&b), "0 1 2 ", 6) == 0 &&
	    strlen(buf_str(&b)) <= 8, "proc_run: no descriptor but 0, 1, 2: %s",
	    buf_str(&b));
	buf_reset(&b);
	t_ok(proc_run("ps -o pgid= -p $$; ps -o pgid= -p $PPID", 10, &b,
	    &st) == 0, "proc_run: ps");
	{
		long own = -1, parent = -1;

		sscanf(buf_str(&b), "%ld %ld", &own, &parent);
		t_ok(own > 0 && own != parent,
		    "proc_run: a process group of its own (%ld, posthorn's "
		    "%ld)", own, parent);
	}
	buf_reset(&b);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	errno = 0;
	r = proc_run("sleep 30 & echo started; exec sleep 30", 1, &b, &st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t_ok(r == -1 && errno == ETIMEDOUT && strcmp(buf_str(&b),
	    "started\n") == 0, "proc_run: the deadline (ETIMEDOUT)");
	t_ok(t1.tv_sec - t0.tv_sec < 5, "proc_run: killed at the deadline "
	    "(%ld s)", (long)(t1.tv_sec - t0.tv_sec));
	buf_release(&b);
	buf_init(&b, 10);
	errno = 0;
	t_ok(proc_run("yes", 10, &b, &st) == -1 && errno == EFBIG &&
	    b.len <= 10, "proc_run: more output than the cap (EFBIG)");
	buf_release(&b);
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
	test_sanitize();
	test_err();
	test_proc();
	test_xtext();
	test_b64();
	test_rand_strv();
	return t_done();
}
