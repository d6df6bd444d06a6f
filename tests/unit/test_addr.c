/*
 * test_addr: RFC 5322 address lists, the offsets used to rewrite an
 * address in place, the envelope form and its checks.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "t.h"
#include "util/buf.h"

/*
 * Each address of a parse as "display|local|domain|start-end/local_end"
 * with "g" appended inside a group, joined by " ; ".  "-" is NULL.
 */
static char *
describe(const struct addr_list *l)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	for (i = 0; i < l->n; i++) {
		const struct addr *a = &l->v[i];

		buf_printf(&b, "%s%s|%s|%s|%zu-%zu/%zu%s", i ? " ; " : "",
		    a->display ? a->display : "-", a->local,
		    a->domain ? a->domain : "-", a->spec_start, a->spec_end,
		    a->local_end, a->in_group ? "g" : "");
	}
	return buf_detach(&b);
}

static const struct {
	const char	*in;
	const char	*want;
} good[] = {
	{ "", "" },
	{ "   \t ", "" },
	{ "(just a comment)", "" },
	{ "a@b", "-|a|b|0-3/1" },
	{ "root", "-|root|-|0-4/4" },
	{ "root (Cron Daemon)", "-|root|-|0-4/4" },
	{ "<root>", "-|root|-|1-5/5" },
	{ "\"Name\" <root>", "Name|root|-|8-12/12" },
	{ "Cron Daemon <root>", "Cron Daemon|root|-|13-17/17" },
	{ "\"Doe, John\" <john@x.org>", "Doe, John|john|x.org|13-23/17" },
	{ "=?UTF-8?B?SsO2cmc=?= <a@b>", "=?UTF-8?B?SsO2cmc=?=|a|b|22-25/23" },
	{ "=?utf-8?q?Dr._J=C3=B6rg?= <a@b>",
	    "=?utf-8?q?Dr._J=C3=B6rg?=|a|b|27-30/28" },
	{ "a@b,c@d", "-|a|b|0-3/1 ; -|c|d|4-7/5" },
	{ "a@b, c@d", "-|a|b|0-3/1 ; -|c|d|5-8/6" },
	{ "John Q. Public <jqp@example.org>",
	    "John Q. Public|jqp|example.org|16-31/19" },
	{ "Dr. No <no@x.y>", "Dr. No|no|x.y|8-14/10" },
	{ "Mary Smith <mary@x.test>, jdoe@example.org",
	    "Mary Smith|mary|x.test|12-23/16 ; "
	    "-|jdoe|example.org|26-42/30" },
	{ "j\xc3\xb6rg@ex\xc3\xa4mple.de",
	    "-|j\xc3\xb6rg|ex\xc3\xa4mple.de|0-17/5" },
	{ "\xe7\x94\xb0\xe4\xb8\xad <\xe7\x94\xb0\xe4\xb8\xad@"
	    "\xe4\xbe\x8b.jp>", "\xe7\x94\xb0\xe4\xb8\xad|\xe7\x94\xb0"
	    "\xe4\xb8\xad|\xe4\xbe\x8b.jp|8-21/14" },
	{ "a@b (trailing comment)", "-|a|b|0-3/1" },
	{ "<a@b> (trailing)", "-|a|b|1-4/2" },
	{ "(lead) a@b", "-|a|b|7-10/8" },
	{ "a(x)@(y)b", "-|a|b|0-9/1" },
	{ "a@b (c (nested (deep)) \\) x)", "-|a|b|0-3/1" },
	{ "a@b,\r\n\tc@d", "-|a|b|0-3/1 ; -|c|d|7-10/8" },
	{ "Name\r\n <a@b>", "Name|a|b|8-11/9" },
	{ "\t\"Tab\"\t<a@b>\t", "Tab|a|b|8-11/9" },
	{ "\"folded\r\n name\" <a@b>", "folded name|a|b|17-20/18" },
	{ "undisclosed-recipients:;", "" },
	{ "undisclosed-recipients: ;", "" },
	{ "Friends: a@b, c@d;", "-|a|b|9-12/10g ; -|c|d|14-17/15g" },
	{ "g: a@b;, e@f", "-|a|b|3-6/4g ; -|e|f|9-12/10" },
	{ "x@y, team: A <a@b>, c;", "-|x|y|0-3/1 ; A|a|b|14-17/15g ; "
	    "-|c|-|20-21/21g" },
	{ "open group: a@b", "-|a|b|12-15/13g" },
	{ "<@a.example,@b.example:user@host>",
	    "-|user|host|23-32/27" },
	{ "Route <@a:u@h>", "Route|u|h|10-13/11" },
	{ "u@[192.0.2.1]", "-|u|[192.0.2.1]|0-13/1" },
	{ "u@[IPv6:2001:db8::1]", "-|u|[IPv6:2001:db8::1]|0-20/1" },
	{ "a@b, , c@d", "-|a|b|0-3/1 ; -|c|d|7-10/8" },
	{ ",a@b,,", "-|a|b|1-4/2" },
	{ "\"john doe\"@x.org", "-|john doe|x.org|0-16/10" },
	{ "\"a\\\"b\\\\c\"@x", "-|a\"b\\c|x|0-11/9" },
	{ "\"\"@x", "-||x|0-4/2" },
	{ "john . doe @ example . org", "-|john.doe|example.org|0-26/10" },
	{ "\"a\".b@x", "-|a.b|x|0-7/5" },
	{ "a..b@docomo.ne.jp", "-|a..b|docomo.ne.jp|0-17/4" },
	{ "root, admin", "-|root|-|0-4/4 ; -|admin|-|6-11/11" },
	{ "root (Cron Daemon), <admin>",
	    "-|root|-|0-4/4 ; -|admin|-|21-26/26" },
	{ "\"\" <a@b>", "|a|b|4-7/5" },
	{ "Name <a@b>", "Name|a|b|6-9/7" },
	{ "user+tag@sub.example.org", "-|user+tag|sub.example.org|0-24/8" },
	{ "!#$%&'*+-/=?^_`{|}~@x", "-|!#$%&'*+-/=?^_`{|}~|x|0-21/19" },
};

static const struct {
	const char	*in;
	const char	*msg;
} bad[] = {
	{ "\"unterminated", "unterminated quoted string in address "
	    "'\"unterminated'" },
	{ "a@b (open", "unterminated comment in address 'a@b (open'" },
	{ "Name <a@b", "missing '>' in address 'Name <a@b'" },
	{ "Name <a@b, c@d", "unexpected ',' in address 'Name <a@b, c@d'" },
	{ "a@[192.0.2.1", "unterminated domain literal in address "
	    "'a@[192.0.2.1'" },
	{ "a@[1\\]]", "invalid character in domain literal in address "
	    "'a@[1\\]]'" },
	{ "a@[]", "empty domain literal in address 'a@[]'" },
	{ "a@", "missing domain after '@' in address 'a@'" },
	{ "a@, b@c", "missing domain after '@' in address 'a@, b@c'" },
	{ "<a@>", "missing domain after '@' in address '<a@>'" },
	{ "a@b.", "invalid domain in address 'a@b.'" },
	{ "a@b..c", "invalid domain in address 'a@b..c'" },
	{ "<>", "null address <> is not a mailbox in address '<>'" },
	{ "x@y, Name <>", "null address <> is not a mailbox in address "
	    "'Name <>'" },
	{ "a@b@c", "unexpected '@' in address 'a@b@c'" },
	{ "a@b c@d", "unexpected 'c' in address 'a@b c@d'" },
	{ "@b", "missing local part in address '@b'" },
	{ "<@a:@b>", "missing local part in address '<@a:@b>'" },
	{ "John Smith", "display name without <address> in address "
	    "'John Smith'" },
	{ "john smith@x", "invalid local part in address 'john smith@x'" },
	{ "<a b@c>", "invalid local part in address '<a b@c>'" },
	{ "a@b;", "unexpected ';' in address 'a@b;'" },
	{ "g: h: a@b;;", "group inside a group in address 'h: a@b;;'" },
	{ "g: a@b; c@d", "unexpected 'c' in address 'c@d'" },
	{ "a@b <c@d>", "unexpected '<' in address 'a@b <c@d>'" },
	{ "[x]", "unexpected '[' in address '[x]'" },
	{ "a\x01@b", "unexpected byte 0x01 in address 'a\\x01@b'" },
	{ "\"a\x01\"@b", "control character in quoted string in address "
	    "'\"a\\x01\"@b'" },
	{ "\"a\r\nb\"@c", "line break in quoted string in address "
	    "'\"a b\"@c'" },
	{ "<a@b> x", "unexpected 'x' in address '<a@b> x'" },
	{ "<@a,b:c@d>", "invalid route in address '<@a,b:c@d>'" },
	{ "a@b, 0123456789012345678901234567890123456789 c",
	    "display name without <address> in address "
	    "'0123456789012345678901234567890123456789...'" },
};

/* Offsets rewrite the input: qualify at local_end, replace the spec. */
static const struct {
	const char	*in;
	int		 qualify;	/* else replace with "new@x.org" */
	const char	*want;
} edit[] = {
	{ "root (Cron Daemon)", 1, "root@example.org (Cron Daemon)" },
	{ "root", 1, "root@example.org" },
	{ "<root>", 1, "<root@example.org>" },
	{ "\"Name\" <root>", 1, "\"Name\" <root@example.org>" },
	{ "Cron Daemon <root> (x)", 1, "Cron Daemon <root@example.org> (x)" },
	{ "\"r t\"", 1, "\"r t\"@example.org" },
	{ "<root>", 0, "<new@x.org>" },
	{ "\"Name\" <root>", 0, "\"Name\" <new@x.org>" },
	{ "root (Cron Daemon)", 0, "new@x.org (Cron Daemon)" },
	{ "a@b.c (x)", 0, "new@x.org (x)" },
	{ "Name <@r:a@b>", 0, "Name <@r:new@x.org>" },
};

static const struct {
	const char	*local;
	const char	*domain;
	const char	*want;
} spec[] = {
	{ "a", "b", "a@b" },
	{ "root", NULL, "root" },
	{ "john.doe", "example.org", "john.doe@example.org" },
	{ "john doe", "x", "\"john doe\"@x" },
	{ "a\"b", "x", "\"a\\\"b\"@x" },
	{ "a\\b", "x", "\"a\\\\b\"@x" },
	{ "a..b", "x", "\"a..b\"@x" },
	{ ".a", "x", "\".a\"@x" },
	{ "a.", "x", "\"a.\"@x" },
	{ "", "x", "\"\"@x" },
	{ "a@b", NULL, "\"a@b\"" },
	{ "j\xc3\xb6rg", "\xc3\xa4.de", "j\xc3\xb6rg@\xc3\xa4.de" },
	{ "u", "[192.0.2.1]", "u@[192.0.2.1]" },
};

static const struct {
	const char	*s;
	int		 unq;
	int		 want;
} valid[] = {
	{ "a@b", 0, 1 },
	{ "a.b@c.d", 0, 1 },
	{ "root", 0, 0 },
	{ "root", 1, 1 },
	{ "", 1, 0 },
	{ "@b", 0, 0 },
	{ "a@", 0, 0 },
	{ "a@b.", 0, 0 },
	{ "a.@b", 0, 0 },
	{ ".a@b", 0, 0 },
	{ "a..b@c", 0, 0 },
	{ "\"a b\"@c", 0, 1 },
	{ "\"a\\\"b\"@c", 0, 1 },
	{ "\"a\"", 1, 1 },
	{ "\"a\"b@c", 0, 0 },
	{ "\"a@c", 0, 0 },
	{ "\"a\tb\"@c", 0, 0 },
	{ "a b@c", 0, 0 },
	{ "a@b@c", 0, 0 },
	{ "a@[192.0.2.1]", 0, 1 },
	{ "a@[192.0.2.1]x", 0, 0 },
	{ "a@[]", 0, 0 },
	{ "a@[1", 0, 0 },
	{ "<a@b>", 0, 0 },
	{ "a@b\r\nRCPT TO:<c@d>", 0, 0 },
	{ "j\xc3\xb6rg@\xc3\xa4.de", 0, 1 },
	{ "a@b c", 0, 0 },
};

static const struct {
	const char	*s;
	int		 want;
} utf8[] = {
	{ "a@b", 0 },
	{ "j\xc3\xb6rg@b", 1 },
	{ "a@\xc3\xa4.de", 1 },
	{ "", 0 },
};

/* Envelope addresses for a server without SMTPUTF8. */
static const struct {
	const char	*in, *want;	/* want NULL: refused */
} ascii[] = {
	{ "bob@example.org", "bob@example.org" },
	{ "bob@b\xc3\xbc" "cher.de", "bob@xn--bcher-kva.de" },
	{ "bob@\xe4\xbe\x8b\xe3\x81\x88.jp", "bob@xn--r8jz45g.jp" },
	{ "bob@B\xc3\x9c" "CHER.de", "bob@xn--bcher-kva.de" },
	{ "j\xc3\xb6rg@example.org", NULL },
	{ "root", "root" },
};

static void
test_ascii(void)
{
	struct err e;
	char *out;
	size_t i;
	int r;

	for (i = 0; i < sizeof(ascii) / sizeof(ascii[0]); i++) {
		err_clear(&e);
		r = addr_to_ascii(ascii[i].in, &out, &e);
		if (ascii[i].want != NULL)
			t_streq(r == 0 ? out : e.text, ascii[i].want,
			    "to ASCII row %zu", i);
		else
			t_ok(r == -1 && e.kind == ERR_DATA &&
			    strstr(e.text, "non-ASCII local part") != NULL,
			    "to ASCII row %zu refused: %s", i, e.text);
		free(out);
	}
}

int
main(void)
{
	struct addr_list l;
	struct err e;
	struct buf b;
	size_t i, j;
	char *got, *s;
	int r, same;

	test_ascii();
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		addr_list_init(&l);
		err_clear(&e);
		r = addr_parse_list(good[i].in, strlen(good[i].in), &l, &e);
		got = describe(&l);
		if (r == -1)
			t_diag("error: %s", e.text);
		t_streq(r == 0 ? got : e.text, good[i].want, "parse '%s'",
		    good[i].in);
		free(got);
		/* The envelope form of each address parses back to it. */
		same = r == 0;
		for (j = 0; j < l.n && same; j++) {
			struct addr_list l2;

			s = addr_spec(&l.v[j]);
			addr_list_init(&l2);
			same = addr_parse_list(s, strlen(s), &l2, &e) == 0 &&
			    l2.n == 1 && strcmp(l2.v[0].local,
			    l.v[j].local) == 0 && ((l2.v[0].domain == NULL &&
			    l.v[j].domain == NULL) || (l2.v[0].domain &&
			    l.v[j].domain && strcmp(l2.v[0].domain,
			    l.v[j].domain) == 0)) && l2.v[0].spec_start == 0 &&
			    l2.v[0].spec_end == strlen(s);
			addr_list_release(&l2);
			free(s);
		}
		t_ok(same, "addr_spec of '%s' reparses to the same address",
		    good[i].in);
		addr_list_release(&l);
	}

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		addr_list_init(&l);
		err_clear(&e);
		r = addr_parse_list(bad[i].in, strlen(bad[i].in), &l, &e);
		t_streq(r == -1 && e.kind == ERR_DATA ? e.text : "(accepted)",
		    bad[i].msg, "refuse '%s'", bad[i].in);
		addr_list_release(&l);
	}

	/* On error, what came before the bad member is kept. */
	addr_list_init(&l);
	r = addr_parse_list("a@b, c@d, e@", 12, &l, &e);
	got = describe(&l);
	t_streq(r == -1 ? got : "(accepted)", "-|a|b|0-3/1 ; -|c|d|5-8/6",
	    "addresses before an error are kept");
	free(got);
	addr_list_release(&l);

	/* Appends to a list that already holds addresses. */
	addr_list_init(&l);
	r = addr_parse_list("a@b", 3, &l, &e) +
	    addr_parse_list("c@d", 3, &l, &e);
	t_ok(r == 0 && l.n == 2 && strcmp(l.v[1].local, "c") == 0,
	    "a second parse appends");
	addr_list_release(&l);

	/* The length bounds the parse: no terminator needed. */
	addr_list_init(&l);
	r = addr_parse_list("a@b, c@d", 3, &l, &e);
	t_ok(r == 0 && l.n == 1, "parse stops at len");
	addr_list_release(&l);

	for (i = 0; i < sizeof(edit) / sizeof(edit[0]); i++) {
		const char *in = edit[i].in;
		const struct addr *a;

		addr_list_init(&l);
		buf_init(&b, 0);
		if (addr_parse_list(in, strlen(in), &l, &e) == 0 &&
		    l.n == 1) {
			a = &l.v[0];
			if (edit[i].qualify) {
				buf_add(&b, in, a->local_end);
				buf_adds(&b, "@example.org");
				buf_adds(&b, in + a->local_end);
			} else {
				buf_add(&b, in, a->spec_start);
				buf_adds(&b, "new@x.org");
				buf_adds(&b, in + a->spec_end);
			}
		}
		t_streq(buf_str(&b), edit[i].want, "%s '%s'",
		    edit[i].qualify ? "qualify" : "replace", in);
		buf_release(&b);
		addr_list_release(&l);
	}

	for (i = 0; i < sizeof(spec) / sizeof(spec[0]); i++) {
		struct addr a;

		memset(&a, 0, sizeof(a));
		a.local = (char *)spec[i].local;
		a.domain = (char *)spec[i].domain;
		got = addr_spec(&a);
		t_streq(got, spec[i].want, "addr_spec of local part '%s'",
		    spec[i].local);
		free(got);
	}

	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
		t_inteq(addr_valid_spec(valid[i].s, valid[i].unq),
		    valid[i].want, "addr_valid_spec '%s' unqualified %s",
		    valid[i].s, valid[i].unq ? "allowed" : "refused");

	for (i = 0; i < sizeof(utf8) / sizeof(utf8[0]); i++)
		t_inteq(addr_is_utf8(utf8[i].s), utf8[i].want,
		    "addr_is_utf8 '%s'", utf8[i].s);

	/* Deep comment nesting is refused, not recursed into. */
	buf_init(&b, 0);
	buf_adds(&b, "a@b ");
	for (i = 0; i < 100000; i++)
		buf_addc(&b, '(');
	addr_list_init(&l);
	err_clear(&e);
	r = addr_parse_list(b.data, b.len, &l, &e);
	t_ok(r == -1 && strstr(e.text, "comments nested too deeply") != NULL,
	    "deeply nested comments refused: %s", e.text);
	addr_list_release(&l);
	buf_reset(&b);
	buf_adds(&b, "a@b ");
	for (i = 0; i < 64; i++)
		buf_addc(&b, '(');
	for (i = 0; i < 64; i++)
		buf_addc(&b, ')');
	addr_list_init(&l);
	r = addr_parse_list(b.data, b.len, &l, &e);
	t_ok(r == 0 && l.n == 1, "64 nested comments accepted");
	addr_list_release(&l);

	/* A long list (over 64 KiB) parses in full. */
	buf_reset(&b);
	for (i = 0; i < 10000; i++)
		buf_printf(&b, "%suser%zu@example.org", i ? ", " : "", i);
	addr_list_init(&l);
	r = addr_parse_list(b.data, b.len, &l, &e);
	t_ok(r == 0 && l.n == 10000 && strcmp(l.v[9999].local,
	    "user9999") == 0, "%zu bytes, %zu addresses", b.len, l.n);
	addr_list_release(&l);

	/* Embedded NUL is not an address character. */
	addr_list_init(&l);
	r = addr_parse_list("a@b\0c", 5, &l, &e);
	t_ok(r == -1 && strstr(e.text, "0x00") != NULL, "NUL refused: %s",
	    e.text);
	addr_list_release(&l);
	buf_release(&b);

	return t_done();
}
