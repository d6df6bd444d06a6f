/*
 * test_alias: the aliases file — syntax, lookups, default:, recursion and
 * its limits.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "alias.h"
#include "err.h"
#include "t.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static const char file[] =
    "# a comment\n"
    "root: alice@example.org\n"
    "postmaster: root\n"
    "team: bob@example.org, carol@example.org,\n"
    "  dave@example.org\n"
    "\n"
    "Cron: root, ops\n"
    "ops: ops@example.net\n"
    "loop1: loop2\n"
    "loop2: loop1\n"
    "pipe: |/usr/bin/handler\n"
    "local: bob\n"
    "tabbed: \"a\tb\"@x.org\n"
    "default: catchall@example.org\n";

static void
test_expand(void)
{
	static const struct {
		const char *name, *want;	/* want: space separated */
		int r;
	} rows[] = {
		{ "root", "alice@example.org", 1 },
		{ "ROOT", "alice@example.org", 1 },
		{ "postmaster", "alice@example.org", 1 },
		{ "team", "bob@example.org carol@example.org dave@example.org",
		    1 },
		{ "cron", "alice@example.org ops@example.net", 1 },
		{ "local", "bob", 1 },
		{ "nobody-else", "catchall@example.org", 1 },
		{ "loop1", NULL, -1 },
		{ "pipe", NULL, -1 },
		{ "tabbed", NULL, -1 },
	};
	struct alias_map m;
	struct err e;
	size_t i, k;

	t_ok(alias_parse(&m, file, sizeof(file) - 1, "aliases", &e) == 0,
	    "the sample file parses");
	for (i = 0; i < N(rows); i++) {
		struct strv out = { NULL, 0 };
		char got[512] = "";
		int r;

		err_clear(&e);
		r = alias_expand(&m, rows[i].name, &out, &e);
		for (k = 0; k < out.n; k++) {
			if (k)
				strcat(got, " ");
			strcat(got, out.v[k]);
		}
		t_inteq(r, rows[i].r, "expand '%s' result", rows[i].name);
		if (rows[i].want != NULL)
			t_streq(got, rows[i].want, "expand '%s'",
			    rows[i].name);
		else
			t_ok(e.kind == ERR_CONFIG && strstr(e.text, "aliases:"),
			    "expand '%s' fails naming the file: %s",
			    rows[i].name, e.text);
		strv_free(&out);
	}
	alias_free(&m);

	/* Without default:, an unknown name is not an alias. */
	struct strv out = { NULL, 0 };

	alias_parse(&m, "root: a@b\n", 10, "f", &e);
	t_inteq(alias_expand(&m, "other", &out, &e), 0,
	    "no entry, no default: not aliased");
	t_ok(out.n == 0, "nothing appended");
	alias_free(&m);
}

static void
test_syntax(void)
{
	static const struct {
		const char *text, *err;
	} rows[] = {
		{ "no colon here\n", "aliases:1:" },
		{ ": nothing\n", "aliases:1:" },
		{ "  leading continuation\n", "aliases:1:" },
		{ "a: x@y\nb: z@w\na: again@y\n", "aliases:3:" },
		{ "two words: x@y\n", "aliases:1:" },
	};
	struct alias_map m;
	struct err e;
	size_t i;

	for (i = 0; i < N(rows); i++) {
		err_clear(&e);
		t_ok(alias_parse(&m, rows[i].text, strlen(rows[i].text),
		    "aliases", &e) == -1 && strstr(e.text, rows[i].err) != NULL,
		    "syntax error row %zu: %s", i, e.text);
	}
	t_ok(alias_parse(&m, "a: b@c\r\n# c\r\n\r\n", 15, "aliases", &e) == 0 &&
	    m.n == 1, "CRLF lines and comments");
	alias_free(&m);
}

int
main(void)
{
	test_expand();
	test_syntax();
	return t_done();
}
