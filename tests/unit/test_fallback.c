/*
 * test_fallback: resolving `fallback ACCOUNT...` (through conf_parse),
 * the list of routes, the route digest covering it, and the one rule of
 * which failures move on to the next route, as a table.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"
#include "fallback.h"
#include "route.h"
#include "smtp.h"
#include "t.h"

static int
parse(struct conf *c, const char *text, struct err *e)
{
	err_clear(e);
	return conf_parse(c, text, strlen(text), "t.conf", e);
}

static void
test_resolve(void)
{
	struct conf c;
	struct err e;
	struct account *a, *b2;
	char d1[ROUTE_DIGEST_LEN], d2[ROUTE_DIGEST_LEN];
	char *desc;
	static const struct {
		const char	*text;
		const char	*err;
	} bad[] = {
		{ "account a\nhost x\nfallback nope\n", "t.conf:1: account 'a': "
		    "fallback names account 'nope', which is not defined" },
		{ "account b\nhost y\naccount a\nhost x\nfallback b, b\n",
		    "t.conf:3: account 'a': fallback names account 'b' "
		    "twice" },
	};
	size_t i;

	t_ok(parse(&c, "defaults\nfallback backup\naccount backup\nhost b\n"
	    "account b2\nhost c\naccount a\nhost x\nfallback backup b2\n",
	    &e) == 0, "parsed: %s", e.text);
	a = conf_account(&c, "a");
	t_inteq(fallback_count(a), 3, "a: itself and two fallbacks");
	t_streq(fallback_route(a, 1)->name, "backup", "first fallback");
	t_streq(fallback_route(a, 2)->name, "b2", "second fallback");
	t_ok(fallback_route(a, 3) == NULL, "no fourth route");
	t_inteq(fallback_count(conf_account(&c, "backup")), 1,
	    "the backup naming itself (through defaults) is skipped");
	t_inteq(fallback_count(conf_account(&c, "b2")), 2,
	    "b2 falls back to backup (defaults)");

	/* The route digest covers the list, in order. */
	route_digest(a, d1);
	b2 = conf_account_dup(a);
	t_inteq(fallback_count(b2), 3, "a copy keeps the list");
	route_digest(b2, d2);
	t_streq(d2, d1, "a copy has the same route");
	b2->fallback_to[0] = conf_account(&c, "b2");
	b2->fallback_to[1] = conf_account(&c, "backup");
	route_digest(b2, d2);
	t_ok(strcmp(d1, d2) != 0, "another order is another route");
	b2->nfallback = 1;
	route_digest(b2, d2);
	t_ok(strcmp(d1, d2) != 0, "a shorter list is another route");
	b2->nfallback = 0;
	route_digest(b2, d2);
	route_digest(conf_account(&c, "backup"), d1);
	t_ok(strcmp(d1, d2) != 0, "without fallbacks: its own route");
	desc = route_describe(a);
	t_ok(strstr(desc, "x:25 (STARTTLS); fallback b:25 (STARTTLS); "
	    "fallback c:25") != NULL, "described: %s", desc);
	free(desc);
	conf_account_free(b2);
	conf_free(&c);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t_ok(parse(&c, bad[i].text, &e) == -1 &&
		    e.kind == ERR_CONFIG, "bad %zu refused", i);
		t_streq(e.text, bad[i].err, "bad %zu: the message", i);
	}
}

static void
test_moves_on(void)
{
	static const struct {
		enum err_kind	 kind;
		int		 phase;		/* enum smtp_phase, -1 none */
		int		 moves;
		const char	*what;
	} cases[] = {
		{ ERR_TEMP, SMTP_CONNECT, 1, "connection refused, timeout" },
		{ ERR_NOHOST, SMTP_CONNECT, 1, "host does not resolve" },
		{ ERR_TEMP, SMTP_GREETING, 1, "421 greeting" },
		{ ERR_TEMP, SMTP_EHLO, 1, "4xx EHLO" },
		{ ERR_TEMP, SMTP_STARTTLS, 1, "454 STARTTLS" },
		{ ERR_UNAVAILABLE, SMTP_STARTTLS, 1, "STARTTLS not offered" },
		{ ERR_UNAVAILABLE, SMTP_TLS, 1, "untrusted certificate" },
		{ ERR_TEMP, SMTP_TLS, 1, "handshake lost" },
		{ ERR_NOPERM, SMTP_AUTH, 1, "535" },
		{ ERR_TEMP, SMTP_AUTH, 1, "454 AUTH" },
		{ ERR_NOPERM, SMTP_CONNECT, 1, "proxy refuses credentials" },
		{ ERR_TEMP, SMTP_MAIL, 1, "451 MAIL" },
		{ ERR_TEMP, SMTP_RCPT, 1, "every RCPT 4xx" },
		{ ERR_TEMP, SMTP_DATA, 1, "451 DATA" },
		{ ERR_TEMP, SMTP_BODY, 1, "lost during the data" },
		{ ERR_PROTOCOL, SMTP_EHLO, 1, "broken EHLO reply" },
		{ ERR_TEMP, SMTP_END, 0, "no reply after the dot" },
		{ ERR_UNAVAILABLE, SMTP_END, 0, "5xx after the dot" },
		{ ERR_PROTOCOL, SMTP_END, 0, "broken reply after the dot" },
		{ ERR_UNAVAILABLE, SMTP_MAIL, 0, "550 MAIL" },
		{ ERR_NOUSER, SMTP_RCPT, 0, "every RCPT 5xx" },
		{ ERR_UNAVAILABLE, SMTP_GREETING, 0, "554 greeting" },
		{ ERR_CONFIG, SMTP_CONNECT, 0, "configuration" },
		{ ERR_CONFIG, SMTP_TLS, 0, "a missing trust file" },
		{ ERR_DATA, SMTP_MAIL, 0, "an address that cannot be sent" },
		{ ERR_TEMP, -1, 0, "no phase" },
	};
	struct err e;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err_clear(&e);
		e.kind = cases[i].kind;
		e.phase = cases[i].phase + 1;
		t_inteq(fallback_moves_on(&e), cases[i].moves, "%s: %s",
		    cases[i].what, cases[i].moves ? "next route" : "stays");
	}
}

int
main(void)
{
	test_resolve();
	test_moves_on();
	return t_done();
}
