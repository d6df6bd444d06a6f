/*
 * fuzz_hdr: the header reader fed the input line by line, unfolding and
 * decoding of the whole input, and, when the input is UTF-8 text, the
 * encoders with a round-trip check: the written field must be 7-bit with
 * lines of 78 at most and decode back to the input; the written phrase
 * must read back through addr_parse_list and decode to the input.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "err.h"
#include "hdr.h"
#include "util/alloc.h"
#include "util/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_reader(const char *s, size_t n)
{
	struct hdr_reader r;
	struct hdr_field f;
	struct err e;
	struct buf un;
	enum hdr_event ev;
	size_t i, start = 0, k;
	int done = 0;

	hdr_reader_init(&r, 256);
	buf_init(&un, 512);
	for (i = 0; i <= n && !done; i++) {
		if (i < n && s[i] != '\n')
			continue;
		if (hdr_reader_push(&r, s + start, i - start, &e) == -1 &&
		    e.kind != ERR_DATA)
			abort();
		start = i + 1;
		if (i == n)
			hdr_reader_finish(&r);
		while ((ev = hdr_reader_pull(&r, &f)) != HDR_NONE) {
			if (ev != HDR_FIELD) {
				done = 1;
				continue;
			}
			if (f.namelen == 0 || f.name != f.raw ||
			    f.rawlen > 256 ||
			    f.value + f.valuelen != f.raw + f.rawlen ||
			    f.value <= f.name + f.namelen ||
			    f.value[-1] != ':' ||
			    hdr_name_len(f.raw, f.rawlen) != f.namelen)
				abort();
			for (k = f.namelen; f.raw + k < f.value - 1; k++)
				if (f.raw[k] != ' ' && f.raw[k] != '\t')
					abort();
			if (!hdr_is(&f, "x") && f.namelen == 1 &&
			    (f.name[0] == 'x' || f.name[0] == 'X'))
				abort();
			buf_reset(&un);
			if (hdr_unfold(f.value, f.valuelen, &un) == -1)
				abort();
		}
	}
	/* After the end, pushes are ignored. */
	if (done && (hdr_reader_push(&r, "A: b", 4, &e) != 0 ||
	    hdr_reader_pull(&r, &f) != HDR_NONE))
		abort();
	buf_release(&un);
	hdr_reader_release(&r);
}

static void
fuzz_encode(const char *v)
{
	static const char *names[] = {
		"Subject", "X-A-Long-Field-Name-To-Push"
	};
	struct addr_list l;
	struct err e;
	struct buf out, un, dec;
	size_t i, j, n, col, hl;
	const char *t;

	buf_init(&out, 0);
	buf_init(&un, 0);
	buf_init(&dec, 0);
	t = v;
	n = strlen(v);
	while (n > 0 && (*t == ' ' || *t == '\t')) {
		t++;
		n--;
	}
	while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		n--;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		buf_reset(&out);
		buf_reset(&un);
		buf_reset(&dec);
		if (hdr_write_unstructured(&out, names[i], v) == -1) {
			if (strpbrk(v, "\r\n") == NULL)
				abort();
			continue;
		}
		for (j = 0, col = 0; j < out.len; j++) {
			unsigned char c = (unsigned char)out.data[j];

			if (c >= 0x80 || c == 0)
				abort();
			if (c == '\n')
				col = 0;
			else if (c != '\r' && ++col > 78)
				abort();
		}
		hl = strlen(names[i]) + 1;
		if (out.len < hl + 2 || out.data[hl - 1] != ':' ||
		    memcmp(out.data + out.len - 2, "\r\n", 2) != 0)
			abort();
		if (hdr_unfold(out.data + hl, out.len - hl - 2, &un) == -1 ||
		    hdr_decode_words(buf_str(&un), un.len, &dec) == -1)
			abort();
		if (dec.len != n || memcmp(buf_str(&dec), t, n) != 0)
			abort();
	}

	buf_reset(&out);
	buf_reset(&dec);
	buf_adds(&out, "From: ");
	if (hdr_write_phrase(&out, v) == -1) {
		if (strpbrk(v, "\r\n") == NULL)
			abort();
	} else {
		buf_adds(&out, " <a@b>");
		addr_list_init(&l);
		if (addr_parse_list(out.data + 6, out.len - 6, &l, &e) == -1 ||
		    l.n != 1 || l.v[0].display == NULL ||
		    hdr_decode_words(l.v[0].display, strlen(l.v[0].display),
		    &dec) == -1 || strcmp(buf_str(&dec), v) != 0)
			abort();
		addr_list_release(&l);
	}
	buf_release(&out);
	buf_release(&un);
	buf_release(&dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct buf b;
	char *v;

	fuzz_reader(s, size);

	buf_init(&b, 4 * size + 64);
	if (hdr_unfold(s, size, &b) == -1)
		abort();
	buf_reset(&b);
	if (hdr_decode_words(s, size, &b) == -1)
		abort();
	/* Decoding UTF-8 text gives UTF-8 text. */
	if (hdr_utf8_valid(s, size) && !hdr_utf8_valid(buf_str(&b), b.len))
		abort();
	buf_release(&b);

	if (hdr_utf8_valid(s, size)) {
		v = xstrndup(s, size);
		fuzz_encode(v);
		free(v);
	}
	return 0;
}
