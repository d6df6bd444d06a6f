/*
 * fuzz_term: the typed body's reader (term.c).  The first byte chooses a
 * piece size; the rest is what the person typed, fed in those pieces as
 * read(2) might give it.  Invariants: the body is the same whatever the
 * pieces; it is a prefix of the input with at most the '.' line (and
 * what follows) removed; a body ended by a '.' line is followed by
 * ".\n" in the input at a line start.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "term.h"
#include "util/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run(const char *p, size_t n, size_t piece, struct buf *out)
{
	struct term_body t;
	size_t k;
	int r = 0;

	term_body_init(&t);
	for (k = 0; k < n && r == 0; k += piece)
		r = term_body_push(&t, p + k, n - k < piece ? n - k : piece,
		    out);
	if (r == -1)
		abort();	/* out has no cap */
	if (r == 0)
		term_body_end(&t);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole, pieces;
	const char *p;
	size_t n, piece;
	int r1, r2;

	if (size == 0)
		return 0;
	piece = (size_t)data[0] % 7 + 1;
	p = (const char *)data + 1;
	n = size - 1;
	buf_init(&whole, 0);
	buf_init(&pieces, 0);
	r1 = run(p, n, n ? n : 1, &whole);
	r2 = run(p, n, piece, &pieces);
	if (r1 != r2 || whole.len != pieces.len || (whole.len > 0 &&
	    memcmp(whole.data, pieces.data, whole.len) != 0))
		abort();
	if (whole.len > n || (whole.len > 0 &&
	    memcmp(whole.data, p, whole.len) != 0))
		abort();
	if (r1 == 1 && (n - whole.len < 2 ||
	    memcmp(p + whole.len, ".\n", 2) != 0 ||
	    (whole.len > 0 && p[whole.len - 1] != '\n')))
		abort();
	buf_release(&whole);
	buf_release(&pieces);
	return 0;
}
