/*
 * test_term: the typed body's end — a line with a single '.', or end of
 * file — whatever pieces read(2) gives it in.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "t.h"
#include "term.h"
#include "util/buf.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char	*typed;	/* what the person typed, to end of file */
	const char	*body;	/* the body kept */
	int		 dot;	/* ended by a '.' line (before end of file) */
} cases[] = {
	{ "hello\n", "hello\n", 0 },
	{ "", "", 0 },
	{ "hello\n.\nafter\n", "hello\n", 1 },
	{ ".\n", "", 1 },
	{ "a\n..\nb\n", "a\n..\nb\n", 0 },
	{ "a\n.x\n", "a\n.x\n", 0 },
	{ "a.\n.b\n", "a.\n.b\n", 0 },
	{ "a\n. \n", "a\n. \n", 0 },
	{ "no newline", "no newline", 0 },
	{ "a\n.", "a\n", 0 },		/* '.' then Ctrl-D */
	{ "x.\n.\n", "x.\n", 1 },
};

int
main(void)
{
	struct term_body t;
	struct buf b;
	size_t i, k, step, n;
	int r, ok;

	for (i = 0; i < N(cases); i++) {
		n = strlen(cases[i].typed);
		/* Whole, then byte by byte, then in pieces of three. */
		for (step = 0; step < 3; step++) {
			size_t sz = step == 0 ? (n ? n : 1) : step == 1 ? 1 : 3;

			term_body_init(&t);
			buf_init(&b, 0);
			r = 0;
			for (k = 0; k < n && r == 0; k += sz)
				r = term_body_push(&t, cases[i].typed + k,
				    n - k < sz ? n - k : sz, &b);
			if (r == 0)
				term_body_end(&t);
			ok = r == cases[i].dot && t.done &&
			    b.len == strlen(cases[i].body) &&
			    memcmp(b.data ? b.data : "", cases[i].body,
			    b.len) == 0;
			t_ok(ok, "typed %zu, pieces of %zu", i, sz);
			buf_release(&b);
		}
	}
	/* A full buffer is an error, not a shorter body. */
	term_body_init(&t);
	buf_init(&b, 4);
	t_inteq(term_body_push(&t, "hello\n", 6, &b), -1, "a full buffer");
	buf_release(&b);
	return t_done();
}
