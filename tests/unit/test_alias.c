/*
 * test_alias: the aliases file — syntax, lookups, default:, recursion and
 * its limits.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alias.h"
#include "err.h"
#include "util/buf.h"
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

/* Joins out with spaces into got (room for 1024 bytes). */
static void
join(const struct strv *out, char *got, size_t sz)
{
	size_t k, o = 0;

	got[0] = '\0';
	for (k = 0; k < out->n && o + 1 < sz; k++)
		o += (size_t)snprintf(got + o, sz - o, "%s%s", k ? " " : "",
		    out->v[k]);
}

/*
 * Issue 8 row 6: shapes of alias graphs.  A diamond is not a loop; a
 * name reached twice gives its addresses once; a real cycle, and only
 * that, is reported as one, with its path.
 */
static void
test_graphs(void)
{
	static const struct {
		const char *name, *text, *expand, *want;
		int r;
	} rows[] = {
		{ "diamond", "a: b, c\nb: d\nc: d\nd: d@x.org\n", "a",
		    "d@x.org", 1 },
		{ "diamond, literal addresses", "a: b, c\nb: x@y.org, z@y.org\n"
		    "c: z@y.org, x@y.org\n", "a", "x@y.org z@y.org", 1 },
		{ "same address, domain case differs",
		    "a: bob@Example.org, bob@example.ORG\n", "a",
		    "bob@Example.org", 1 },
		{ "local part case is kept apart",
		    "a: Bob@example.org, bob@example.org\n", "a",
		    "Bob@example.org bob@example.org", 1 },
		{ "stacked diamonds", "a: b1, c1\nb1: b2, c2\nc1: b2, c2\n"
		    "b2: b3, c3\nc2: b3, c3\nb3: z@x.org\nc3: y@x.org\n", "a",
		    "z@x.org y@x.org", 1 },
		{ "self reference is an address", "root: root, admin@x.org\n",
		    "root", "root admin@x.org", 1 },
		{ "two-cycle", "a: b\nb: a\n", "a", "a -> b -> a", -1 },
		{ "three-cycle below a diamond", "top: a, e\na: b\nb: c\nc: a\n"
		    "e: x@x.org\n", "top", "a -> b -> c -> a", -1 },
		{ "cycle not reached", "a: x@x.org\nb: c\nc: b\n", "a",
		    "x@x.org", 1 },
		{ "default: with a diamond", "p: q@x.org\nr: p\n"
		    "default: p, r\n", "unknown", "q@x.org", 1 },
	};
	struct alias_map m;
	struct err e;
	size_t i;
	char got[1024];

	for (i = 0; i < N(rows); i++) {
		struct strv out = { NULL, 0 };
		int r;

		err_clear(&e);
		if (alias_parse(&m, rows[i].text, strlen(rows[i].text), "al",
		    &e) == -1) {
			t_ok(0, "graph '%s' parses: %s", rows[i].name, e.text);
			continue;
		}
		r = alias_expand(&m, rows[i].expand, &out, &e);
		join(&out, got, sizeof(got));
		t_inteq(r, rows[i].r, "graph '%s': result", rows[i].name);
		if (rows[i].r == 1)
			t_streq(got, rows[i].want, "graph '%s': addresses",
			    rows[i].name);
		else
			t_ok(e.kind == ERR_CONFIG && strstr(e.text, "loops") &&
			    strstr(e.text, rows[i].want) != NULL,
			    "graph '%s': the cycle is named: %s", rows[i].name,
			    e.text);
		strv_free(&out);
		alias_free(&m);
	}
}

/* Deep and wide maps: limits, and time linear in the map. */
static void
test_limits(void)
{
	struct alias_map m;
	struct strv out = { NULL, 0 };
	struct buf text;
	struct err e;
	int i;

	/* A chain of ALIAS_DEPTH aliases expands; one more is too deep. */
	buf_init(&text, 0);
	for (i = 0; i < ALIAS_DEPTH - 1; i++)
		buf_printf(&text, "n%d: n%d\n", i, i + 1);
	buf_printf(&text, "n%d: end@x.org\n", ALIAS_DEPTH - 1);
	alias_parse(&m, text.data, text.len, "al", &e);
	t_ok(alias_expand(&m, "n0", &out, &e) == 1 && out.n == 1,
	    "a chain of %d aliases expands", ALIAS_DEPTH);
	strv_free(&out);
	alias_free(&m);
	buf_reset(&text);
	for (i = 0; i < ALIAS_DEPTH; i++)
		buf_printf(&text, "n%d: n%d\n", i, i + 1);
	buf_printf(&text, "n%d: end@x.org\n", ALIAS_DEPTH);
	alias_parse(&m, text.data, text.len, "al", &e);
	t_ok(alias_expand(&m, "n0", &out, &e) == -1 &&
	    strstr(e.text, "nested more than") != NULL &&
	    strstr(e.text, "loops") == NULL,
	    "one more is too deep, not a loop: %s", e.text);
	strv_free(&out);
	alias_free(&m);

	/*
	 * 40 stacked diamonds: 2^40 paths, so each alias must be expanded
	 * once, not once per path.
	 */
	buf_reset(&text);
	for (i = 0; i < 40; i++)
		buf_printf(&text, "b%d: b%d, c%d\nc%d: b%d, c%d\n", i, i + 1,
		    i + 1, i, i + 1, i + 1);
	buf_printf(&text, "b40: bottom@x.org\nc40: bottom@x.org\n");
	alias_parse(&m, text.data, text.len, "al", &e);
	t_ok(alias_expand(&m, "b0", &out, &e) == 1 && out.n == 1 &&
	    strcmp(out.v[0], "bottom@x.org") == 0,
	    "40 stacked diamonds: one address, at once");
	strv_free(&out);
	alias_free(&m);

	/* 20,000 entries: the index finds each, duplicates are refused. */
	buf_reset(&text);
	buf_adds(&text, "all:");
	for (i = 0; i < 20000; i += 4)
		buf_printf(&text, "%s u%d", i ? "," : "", i);
	buf_addc(&text, '\n');
	for (i = 0; i < 20000; i++)
		buf_printf(&text, "u%d: u%d@x.org, all-list@x.org\n", i, i);
	t_ok(alias_parse(&m, text.data, text.len, "al", &e) == 0 &&
	    m.n == 20001, "20,001 entries parse: %s", e.text);
	t_ok(alias_expand(&m, "all", &out, &e) == 1 && out.n == 5001,
	    "a 5,000-member list expands to 5,001 addresses");
	strv_free(&out);
	alias_free(&m);
	buf_adds(&text, "u19999: again@x.org\n");
	t_ok(alias_parse(&m, text.data, text.len, "al", &e) == -1 &&
	    strstr(e.text, "defined twice") != NULL,
	    "a name defined twice among 20,000: %s", e.text);
	buf_release(&text);
}

/* Class 0: the caps of an alias value and of the file, exact and over. */
static void
test_caps(void)
{
	struct alias_map m;
	struct err e;
	struct buf b;
	char path[] = "/tmp/test_alias.XXXXXX";
	size_t i;
	int fd, over;

	for (over = 0; over <= 1; over++) {
		/* "a:" and a value of 64 KiB (+1): " x@y.org, x@y.org, ..." */
		buf_init(&b, 0);
		buf_adds(&b, "a:");
		while (b.len + 9 <= 2 + 64 * 1024)
			buf_adds(&b, " x@y.org,");
		while (b.len < 2 + 64 * 1024 + (size_t)over)
			buf_addc(&b, ' ');
		buf_addc(&b, '\n');
		err_clear(&e);
		if (over)
			t_ok(alias_parse(&m, b.data, b.len, "al", &e) == -1 &&
			    strcmp(e.text, "al:1: alias too long") == 0,
			    "a value one octet over 64 KiB: %s", e.text);
		else {
			t_ok(alias_parse(&m, b.data, b.len, "al", &e) == 0,
			    "a value of exactly 64 KiB: %s", e.text);
			alias_free(&m);
		}
		buf_release(&b);
	}
	for (over = 0; over <= 1; over++) {
		fd = mkstemp(path);
		buf_init(&b, 0);
		buf_adds(&b, "a: b@c.org\n");
		for (i = b.len; i < 1024 * 1024 + (size_t)over; i++)
			buf_addc(&b, '\n');
		t_ok(fd != -1 && write(fd, b.data, b.len) == (ssize_t)b.len,
		    "write %zu octets", b.len);
		close(fd);
		err_clear(&e);
		if (over)
			t_ok(alias_load(&m, path, &e) == -1 && strstr(e.text,
			    "is larger than 1048576 bytes") != NULL,
			    "an aliases file one octet over 1 MiB: %s", e.text);
		else {
			t_ok(alias_load(&m, path, &e) == 0 && m.n == 1,
			    "an aliases file of exactly 1 MiB: %s", e.text);
			alias_free(&m);
		}
		unlink(path);
		strcpy(path, "/tmp/test_alias.XXXXXX");
		buf_release(&b);
	}
}

int
main(void)
{
	test_expand();
	test_caps();
	test_syntax();
	test_graphs();
	test_limits();
	return t_done();
}
