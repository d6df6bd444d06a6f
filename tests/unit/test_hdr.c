/*
 * test_hdr: the push/pull header reader, field names, unfolding, UTF-8
 * checks, and RFC 2047 encoding (checked against exact output and by
 * decoding it back) and decoding.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "hdr.h"
#include "t.h"
#include "util/buf.h"

/* Appends s[0..n) to b with CR and LF shown as \r and \n. */
static void
show(struct buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] == '\r')
			buf_adds(b, "\\r");
		else if (s[i] == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, s[i]);
}

/*
 * Pushes the lines of in (split at "\n"), pulling after each, then
 * finishes when asked.  The events are written as F{name}{value} for a
 * field, E for the end, B for a body line, !cap for a refused line.
 */
static char *
read_all(const char *in, int finish, size_t cap)
{
	struct hdr_reader r;
	struct hdr_field f;
	struct err e;
	struct buf b;
	enum hdr_event ev;
	const char *p = in, *nl;
	int last = 0;

	buf_init(&b, 0);
	hdr_reader_init(&r, cap);
	while (!last) {
		nl = strchr(p, '\n');
		if (nl == NULL) {
			nl = p + strlen(p);
			last = 1;
			if (finish && nl == p)
				break;
		}
		if (hdr_reader_push(&r, p, (size_t)(nl - p), &e) == -1)
			buf_adds(&b, "!cap ");
		p = nl + 1;
		while ((ev = hdr_reader_pull(&r, &f)) != HDR_NONE) {
			if (ev == HDR_FIELD) {
				buf_adds(&b, "F{");
				show(&b, f.name, f.namelen);
				buf_adds(&b, "}{");
				show(&b, f.value, f.valuelen);
				buf_adds(&b, "} ");
				if (f.raw != f.name || f.value + f.valuelen !=
				    f.raw + f.rawlen)
					buf_adds(&b, "(bad raw) ");
			} else
				buf_adds(&b, ev == HDR_END ? "E " : "B ");
		}
	}
	if (finish) {
		hdr_reader_finish(&r);
		while ((ev = hdr_reader_pull(&r, &f)) != HDR_NONE) {
			if (ev == HDR_FIELD) {
				buf_adds(&b, "F{");
				show(&b, f.name, f.namelen);
				buf_adds(&b, "}{");
				show(&b, f.value, f.valuelen);
				buf_adds(&b, "} ");
			} else
				buf_adds(&b, ev == HDR_END ? "E " : "B ");
		}
	}
	hdr_reader_release(&r);
	if (b.len > 0)
		buf_truncate(&b, b.len - 1);
	return buf_detach(&b);
}

static const struct {
	const char	*in;
	int		 finish;
	size_t		 cap;
	const char	*want;
} reader[] = {
	{ "Subject: hi\n\nbody", 0, 0, "F{Subject}{ hi} E" },
	{ "Subject: hi\r\n\r\nbody", 0, 0, "F{Subject}{ hi} E" },
	{ "A: 1\nB: 2\n", 0, 0, "F{A}{ 1} F{B}{ 2} E" },
	{ "To: a,\n b,\n\tc\nX: y\n", 0, 0,
	    "F{To}{ a,\\r\\n b,\\r\\n\tc} F{X}{ y} E" },
	{ "Subject: hi", 1, 0, "F{Subject}{ hi} E" },
	{ "A: 1\n b", 1, 0, "F{A}{ 1\\r\\n b} E" },
	{ "", 1, 0, "E" },
	{ "\n", 0, 0, "E" },
	{ "A: 1\nnot a header\nB: 2\n", 0, 0, "F{A}{ 1} B" },
	{ "A: 1\nFrom me\n", 0, 0, "F{A}{ 1} B" },
	{ " leading continuation\nA: 1\n", 0, 0, "B" },
	{ "\tleading tab\n", 0, 0, "B" },
	{ "body text\n", 0, 0, "B" },
	{ "Subject : obsolete\n\n", 0, 0, "F{Subject}{ obsolete} E" },
	{ "Subject\t:x\n\n", 0, 0, "F{Subject}{x} E" },
	{ "Empty:\n\n", 0, 0, "F{Empty}{} E" },
	{ ": no name\n", 0, 0, "B" },
	{ "Sub ject: x\n", 0, 0, "B" },
	{ "X-\xc3\xa4: x\n", 0, 0, "B" },
	{ "A: 1\n\nB: 2\n\n", 0, 0, "F{A}{ 1} E" },
	{ "A: 1\nbody\n\nB: 2\n", 0, 0, "F{A}{ 1} B" },
	{ "A: 1\n\n", 1, 0, "F{A}{ 1} E" },
	{ "X-Long: 0123456789\n", 0, 18, "F{X-Long}{ 0123456789} E" },
	{ "X-Long: 0123456789x\n", 0, 18, "!cap E" },
	{ "A: 1\n 2\n 3\n", 0, 7, "!cap !cap F{A}{ 1} E" },
	{ "A: 1\n 2\n 3\n", 0, 8, "!cap F{A}{ 1\\r\\n 2} E" },
	{ "A: 1\n 2\n 3\n", 0, 11, "!cap F{A}{ 1\\r\\n 2} E" },
	{ "A: 1\n 2\n 3\n", 0, 12, "F{A}{ 1\\r\\n 2\\r\\n 3} E" },
	{ "A: 123456\nB: 1\n", 0, 8, "!cap F{B}{ 1} E" },
	{ "A: 1\n 2\n", 0, 1, "!cap !cap E" },
	{ "A: 1\nB: 123456789\n 2\nC: 3\n", 0, 8,
	    "!cap F{A}{ 1} !cap F{C}{ 3} E" },
};

static const struct {
	const char	*line;
	size_t		 want;
} names[] = {
	{ "Subject: x", 7 },
	{ "Subject:x", 7 },
	{ "Subject :x", 7 },
	{ "Subject \t :x", 7 },
	{ "X-Mailer: y", 8 },
	{ "a:", 1 },
	{ ":x", 0 },
	{ "Subject x", 0 },
	{ "Subject", 0 },
	{ "", 0 },
	{ " Subject: x", 0 },
	{ "Sub ject: x", 0 },
	{ "From me@x Mon Jan 1", 0 },
	{ "!#~: x", 3 },
	{ "A\x7f: x", 0 },
};

static const struct {
	const char	*in;
	const char	*want;
} unfold[] = {
	{ " hello", "hello" },
	{ " a,\r\n b", "a, b" },
	{ " a,\r\n\tb  ", "a,\tb" },
	{ "a\r\n  b", "a  b" },
	{ "a\n b", "a b" },
	{ "\r\n a", "a" },
	{ "a\r\nb", "a\r\nb" },
	{ "a \r\n", "a" },
	{ "", "" },
	{ " \t ", "" },
};

static const struct {
	const char	*in;
	const char	*want;
} decode[] = {
	{ "plain text", "plain text" },
	{ "=?UTF-8?Q?J=C3=B6rg?=", "J\xc3\xb6rg" },
	{ "=?utf-8?q?J=c3=b6rg?=", "J\xc3\xb6rg" },
	{ "=?UTF-8?B?SsO2cmc=?=", "J\xc3\xb6rg" },
	{ "=?UTF-8?B?SsO2cmc?=", "J\xc3\xb6rg" },
	{ "=?UTF-8?Q?a_b?=", "a b" },
	{ "=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab" },
	{ "=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=", "ab" },
	{ "=?UTF-8?Q?a?= \t =?UTF-8?Q?b?=", "ab" },
	{ "=?UTF-8?Q?a?= x =?UTF-8?Q?b?=", "a x b" },
	{ "x =?UTF-8?Q?a?= y", "x a y" },
	{ "=?ISO-8859-1?Q?caf=E9?=", "caf\xc3\xa9" },
	{ "=?iso-8859-1?b?6Q==?=", "\xc3\xa9" },
	{ "=?US-ASCII?Q?abc?=", "abc" },
	{ "=?US-ASCII?Q?=E9?=", "=?US-ASCII?Q?=E9?=" },
	{ "=?UTF-8?Q?=FF?=", "=?UTF-8?Q?=FF?=" },
	{ "=?KOI8-R?B?8NLJ18XU?=", "=?KOI8-R?B?8NLJ18XU?=" },
	{ "=?UTF-8*en?Q?hi?=", "hi" },
	{ "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=" },
	{ "=?UTF-8?Q?a=2?=", "=?UTF-8?Q?a=2?=" },
	{ "=?UTF-8?Q?a=ZZ?=", "=?UTF-8?Q?a=ZZ?=" },
	{ "=?UTF-8?B?!!!!?=", "=?UTF-8?B?!!!!?=" },
	{ "=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?=" },
	{ "=?UTF-8?Q?unterminated", "=?UTF-8?Q?unterminated" },
	{ "=??Q?x?=", "=??Q?x?=" },
	{ "=?UTF-8?Q?a=0D=0Ab?=", "=?UTF-8?Q?a=0D=0Ab?=" },
	{ "=?UTF-8?Q?=00?=", "=?UTF-8?Q?=00?=" },
	{ "=?UTF-8?Q?" "?=", "" },
	{ "a=?UTF-8?Q?b?=c", "abc" },
	{ "=?UTF-8?Q?a?= =?KOI8-R?Q?b?= =?UTF-8?Q?c?=",
	    "a =?KOI8-R?Q?b?= c" },
	{ "=?", "=?" },
	{ "=", "=" },
};

static const struct {
	const char	*s;
	int		 want;
} utf8[] = {
	{ "", 1 },
	{ "ascii", 1 },
	{ "\xc3\xa9", 1 },
	{ "\xe2\x82\xac", 1 },
	{ "\xf0\x9f\x98\x80", 1 },
	{ "\xf4\x8f\xbf\xbf", 1 },
	{ "\xc3", 0 },
	{ "\xc3(", 0 },
	{ "\x80", 0 },
	{ "\xc0\xaf", 0 },
	{ "\xe0\x80\xaf", 0 },
	{ "\xf0\x80\x80\xaf", 0 },
	{ "\xed\xa0\x80", 0 },
	{ "\xf4\x90\x80\x80", 0 },
	{ "\xff", 0 },
	{ "\xe2\x82", 0 },
};

static const struct {
	const char	*name;
	const char	*value;
	const char	*want;
} unstr[] = {
	{ "Subject", "Hello world", "Subject: Hello world\r\n" },
	{ "Subject", "  trimmed\t ", "Subject: trimmed\r\n" },
	{ "Subject", "", "Subject: \r\n" },
	{ "Subject", "two  spaces", "Subject: two  spaces\r\n" },
	{ "Subject", "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln",
	    "Subject: =?UTF-8?B?R3LDvMOfZQ==?= aus =?UTF-8?B?S8O2bG4=?=\r\n" },
	{ "Subject", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
	    "Subject: =?UTF-8?B?5pel5pys6Kqe?=\r\n" },
	{ "Subject", "caf\xc3\xa9 au lait",
	    "Subject: =?UTF-8?B?Y2Fmw6k=?= au lait\r\n" },
	{ "Subject", "\xc3\xa9t\xc3\xa9 \xc3\xa0 Paris",
	    "Subject: =?UTF-8?B?w6l0w6kgw6A=?= Paris\r\n" },
	{ "Subject", "a =?utf-8?q?x?= b",
	    "Subject: a =?UTF-8?B?PT91dGYtOD9xP3g/PQ==?= b\r\n" },
	{ "Subject", "bell\x07", "Subject: =?UTF-8?Q?bell=07?=\r\n" },
	{ "Subject", "word0 word1 word2 word3 word4 word5 word6 word7 word8 "
	    "word9 word10 word11 word12",
	    "Subject: word0 word1 word2 word3 word4 word5 word6 word7 word8 "
	    "word9 word10\r\n word11 word12\r\n" },
	{ "X", "0123456789012345678901234567890123456789012345678901234567"
	    "8901234567890123456789",
	    "X: =?UTF-8?Q?012345678901234567890123456789012345678901234567890"
	    "123456789012?=\r\n =?UTF-8?Q?34567890123456789?=\r\n" },
};

static const struct {
	const char	*name;
	const char	*want;
} phrase[] = {
	{ "John Q Public", "John Q Public" },
	{ "O'Brien", "O'Brien" },
	{ "John Q. Public", "\"John Q. Public\"" },
	{ "Doe, John", "\"Doe, John\"" },
	{ "say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"" },
	{ "Ann  Lee", "\"Ann  Lee\"" },
	{ " lead", "\" lead\"" },
	{ "trail ", "\"trail \"" },
	{ "tab\there", "\"tab\there\"" },
	{ "", "\"\"" },
	{ "J\xc3\xb6rg M\xc3\xbcller", "=?UTF-8?B?SsO2cmcgTcO8bGxlcg==?=" },
	{ "Andr\xc3\xa9 Martin-Dupont",
	    "=?UTF-8?Q?Andr=C3=A9_Martin-Dupont?=" },
	{ "\xe7\x94\xb0\xe4\xb8\xad", "=?UTF-8?B?55Sw5Lit?=" },
	{ "=?x?=", "=?UTF-8?B?PT94Pz0=?=" },
	{ "Name Name Name Name Name Name Name Name Name Name Name Name "
	    "Name Name Name Name",
	    "Name Name Name Name Name Name Name Name Name Name Name Name "
	    "Name Name Name\r\n Name" },
	{ "Name, Name Name Name Name Name Name Name Name Name Name Name "
	    "Name Name Name Name",
	    "\"Name, Name Name Name Name Name Name Name Name Name Name Name "
	    "Name Name\r\n Name Name\"" },
};

/* Values whose encoding must decode back to them (after trimming). */
static const char *roundtrip[] = {
	"Hello world",
	"Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln",
	"\xc3\xa9t\xc3\xa9  \xc3\xa0\t\xc3\xa0",
	"mixed \xc3\xa9 plain \xc3\xa9\xc3\xa9 plain",
	"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	    "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	    "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	    "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	    "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80",
	"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe9\x95\xb7\xe3"
	    "\x81\x84\xe4\xbb\xb6\xe5\x90\x8d\xe3\x81\xa7\xe3\x81\x99\xe3\x80"
	    "\x82 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe9\x95\xb7"
	    "\xe3\x81\x84\xe4\xbb\xb6\xe5\x90\x8d\xe3\x81\xa7\xe3\x81\x99\xe3"
	    "\x80\x82 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe9\x95"
	    "\xb7\xe3\x81\x84\xe4\xbb\xb6\xe5\x90\x8d",
	"a                                                            b",
	"=?UTF-8?Q?not_encoded?= really",
	"x=?y z?=",
	"a_b =C3=A9 ?= =?",
	"Re: [list] \xc3\xbc" "ber 9000 things, (parens) and \"quotes\" "
	    "and a long tail of ascii words to fold somewhere in here",
	"\xc3\xa9",
	"\x01\x02\x7f",
	"0123456789012345678901234567890123456789012345678901234567890123"
	    "456789012345678901234567890123456789",
	"Doe, John",
};

/* Checks the property: ASCII only, lines of 78 at most, decodes back. */
static int
check_unstructured(const char *name, const char *value, char *why,
    size_t whysz)
{
	struct buf out, un, dec;
	const char *p, *v = value;
	size_t n = strlen(value), col = 0, i, hl = strlen(name) + 1;
	int ok = 0;

	buf_init(&out, 0);
	buf_init(&un, 0);
	buf_init(&dec, 0);
	snprintf(why, whysz, "write failed");
	if (hdr_write_unstructured(&out, name, value) == -1)
		goto done;
	for (i = 0; i < out.len; i++) {
		unsigned char c = (unsigned char)out.data[i];

		if (c >= 0x80 || (c < 0x20 && c != '\r' && c != '\n' &&
		    c != '\t')) {
			snprintf(why, whysz, "byte 0x%02x written", c);
			goto done;
		}
		if (c == '\n')
			col = 0;
		else if (c != '\r' && ++col > 78) {
			snprintf(why, whysz, "line over 78");
			goto done;
		}
	}
	p = out.data;
	if (out.len < hl + 2 || strncmp(p, name, hl - 1) != 0 ||
	    p[hl - 1] != ':' || strcmp(p + out.len - 2, "\r\n") != 0) {
		snprintf(why, whysz, "not a field line");
		goto done;
	}
	if (hdr_unfold(p + hl, out.len - hl - 2, &un) == -1 ||
	    hdr_decode_words(un.data ? un.data : "", un.len, &dec) == -1)
		goto done;
	while (n > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (dec.len != n || memcmp(buf_str(&dec), v, n) != 0) {
		snprintf(why, whysz, "decodes to '%s'", buf_str(&dec));
		goto done;
	}
	ok = 1;
done:
	buf_release(&out);
	buf_release(&un);
	buf_release(&dec);
	return ok;
}

/* The phrase, read back by addr and decoded, is the name again. */
static int
check_phrase(const char *name, char *why, size_t whysz)
{
	struct addr_list l;
	struct err e;
	struct buf out, dec;
	int ok = 0;

	buf_init(&out, 0);
	buf_init(&dec, 0);
	addr_list_init(&l);
	snprintf(why, whysz, "write failed");
	if (buf_adds(&out, "From: ") == -1 ||
	    hdr_write_phrase(&out, name) == -1 ||
	    buf_adds(&out, " <a@b>") == -1)
		goto done;
	if (addr_parse_list(out.data + 6, out.len - 6, &l, &e) == -1 ||
	    l.n != 1 || l.v[0].display == NULL) {
		snprintf(why, whysz, "does not parse: %.200s", e.text);
		goto done;
	}
	if (hdr_decode_words(l.v[0].display, strlen(l.v[0].display),
	    &dec) == -1 || strcmp(buf_str(&dec), name) != 0) {
		snprintf(why, whysz, "reads back as '%s'", buf_str(&dec));
		goto done;
	}
	ok = 1;
done:
	addr_list_release(&l);
	buf_release(&out);
	buf_release(&dec);
	return ok;
}

int
main(void)
{
	struct hdr_field f;
	struct buf b;
	char why[256], *got;
	size_t i, old;
	int r;

	for (i = 0; i < sizeof(reader) / sizeof(reader[0]); i++) {
		struct buf in;

		got = read_all(reader[i].in, reader[i].finish, reader[i].cap);
		buf_init(&in, 0);
		show(&in, reader[i].in, strlen(reader[i].in));
		t_streq(got, reader[i].want, "reader '%s'%s cap %zu",
		    buf_str(&in), reader[i].finish ? " + finish" : "",
		    reader[i].cap);
		buf_release(&in);
		free(got);
	}

	/* The cap's message names the field. */
	{
		struct hdr_reader rd;
		struct err e;

		hdr_reader_init(&rd, 16);
		err_clear(&e);
		r = hdr_reader_push(&rd, "Subject: 0123456789", 19, &e);
		t_ok(r == -1 && e.kind == ERR_DATA && strcmp(e.text,
		    "header field too long: 'Subject: 0123456789...'") == 0,
		    "cap error: %s", e.text);
		hdr_reader_release(&rd);
	}

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		t_inteq(hdr_name_len(names[i].line, strlen(names[i].line)),
		    names[i].want, "hdr_name_len '%s'", names[i].line);

	memset(&f, 0, sizeof(f));
	f.name = "Content-Type: x";
	f.namelen = 12;
	t_ok(hdr_is(&f, "content-type"), "hdr_is ignores case");
	t_ok(hdr_is(&f, "CONTENT-TYPE"), "hdr_is upper case");
	t_ok(!hdr_is(&f, "Content"), "hdr_is needs the whole name");
	t_ok(!hdr_is(&f, "Content-Type:"), "hdr_is no longer name");

	for (i = 0; i < sizeof(unfold) / sizeof(unfold[0]); i++) {
		buf_init(&b, 0);
		hdr_unfold(unfold[i].in, strlen(unfold[i].in), &b);
		t_streq(buf_str(&b), unfold[i].want, "unfold case %zu", i);
		buf_release(&b);
	}
	buf_init(&b, 4);
	buf_adds(&b, "ab");
	r = hdr_unfold(" cde", 4, &b);
	t_ok(r == -1 && strcmp(buf_str(&b), "ab") == 0,
	    "unfold over the cap fails and leaves out as it was");
	buf_release(&b);

	for (i = 0; i < sizeof(decode) / sizeof(decode[0]); i++) {
		buf_init(&b, 0);
		hdr_decode_words(decode[i].in, strlen(decode[i].in), &b);
		t_streq(buf_str(&b), decode[i].want, "decode '%s'",
		    decode[i].in);
		buf_release(&b);
	}
	buf_init(&b, 3);
	r = hdr_decode_words("=?UTF-8?Q?abcd?=", 16, &b);
	t_ok(r == -1 && b.len == 0, "decode over the cap fails");
	buf_release(&b);

	for (i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++)
		t_inteq(hdr_utf8_valid(utf8[i].s, strlen(utf8[i].s)),
		    utf8[i].want, "utf8 case %zu", i);
	t_ok(hdr_utf8_valid("a\0b", 3), "NUL is valid UTF-8");

	for (i = 0; i < sizeof(unstr) / sizeof(unstr[0]); i++) {
		buf_init(&b, 0);
		r = hdr_write_unstructured(&b, unstr[i].name, unstr[i].value);
		t_streq(r == 0 ? buf_str(&b) : "(failed)", unstr[i].want,
		    "write %s '%s'", unstr[i].name, unstr[i].value);
		buf_release(&b);
	}
	for (i = 0; i < sizeof(roundtrip) / sizeof(roundtrip[0]); i++) {
		t_ok(check_unstructured("Subject", roundtrip[i], why,
		    sizeof(why)), "unstructured '%s' decodes back (%s)",
		    roundtrip[i], why);
		t_ok(check_unstructured("X-A-Rather-Long-Field-Name-Here",
		    roundtrip[i], why, sizeof(why)), "long name '%s' (%s)",
		    roundtrip[i], why);
		t_ok(check_phrase(roundtrip[i], why, sizeof(why)),
		    "phrase '%s' reads back (%s)", roundtrip[i], why);
	}

	/* Refusals leave out as it was. */
	buf_init(&b, 0);
	buf_adds(&b, "keep");
	t_ok(hdr_write_unstructured(&b, "Subject", "bad \xc3(") == -1 &&
	    strcmp(buf_str(&b), "keep") == 0, "invalid UTF-8 refused");
	t_ok(hdr_write_unstructured(&b, "Subject", "a\r\nBcc: x") == -1 &&
	    strcmp(buf_str(&b), "keep") == 0, "line break refused");
	t_ok(hdr_write_unstructured(&b, "Sub ject", "x") == -1 &&
	    hdr_write_unstructured(&b, "Subject:", "x") == -1 &&
	    hdr_write_unstructured(&b, "", "x") == -1 &&
	    strcmp(buf_str(&b), "keep") == 0, "bad field names refused");
	t_ok(hdr_write_phrase(&b, "x\ny") == -1 &&
	    hdr_write_phrase(&b, "\xff") == -1 &&
	    strcmp(buf_str(&b), "keep") == 0, "bad phrases refused");
	buf_release(&b);
	buf_init(&b, 30);
	buf_adds(&b, "keep");
	t_ok(hdr_write_unstructured(&b, "Subject", "\xc3\xa9t\xc3\xa9 "
	    "\xc3\xa0 Paris") == -1 && strcmp(buf_str(&b), "keep") == 0,
	    "write over the cap fails and leaves out as it was");
	old = b.len;
	t_ok(hdr_write_phrase(&b, "J\xc3\xb6rg M\xc3\xbcller") == -1 &&
	    b.len == old, "phrase over the cap fails");
	buf_release(&b);

	for (i = 0; i < sizeof(phrase) / sizeof(phrase[0]); i++) {
		buf_init(&b, 0);
		buf_adds(&b, "To: ");
		r = hdr_write_phrase(&b, phrase[i].name);
		t_streq(r == 0 ? buf_str(&b) + 4 : "(failed)", phrase[i].want,
		    "phrase '%s'", phrase[i].name);
		buf_release(&b);
	}

	/* A phrase that starts late on a line folds at the blank before. */
	buf_init(&b, 0);
	buf_adds(&b, "Disposition-Notification-To: a@b, b@c, c@d, e@f, ");
	hdr_write_phrase(&b, "J\xc3\xb6rg M\xc3\xbcller");
	t_streq(buf_str(&b), "Disposition-Notification-To: a@b, b@c, c@d, "
	    "e@f,\r\n =?UTF-8?B?SsO2cmcgTcO8bGxlcg==?=", "late phrase folds");
	buf_release(&b);

	return t_done();
}
