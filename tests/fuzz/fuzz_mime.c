/*
 * fuzz_mime: the 8BITMIME downgrade filter on any input, with its
 * property checked through the trace of what each stretch of output is
 * made of: the stretches cover input and output exactly and in order;
 * header fields come out 7-bit (an 8-bit one written again, or the
 * message refused with ERR_DATA, the same way whatever the pieces);
 * copied stretches are the input's bytes; re-encoded ones are 7-bit
 * quoted-printable with lines of at most 76 that decode (with a decoder
 * written here) to exactly the input they replace; added text, structure
 * and 7-bit leaves are 7-bit.  Feeding the input in pieces changes
 * nothing.  The same input also goes through sniffing (whole and in
 * pieces agree) and the quoted-printable encoder (decodes back).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mime.h"
#include "util/alloc.h"
#include "util/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct span {
	enum mime_dg_span kind;
	off_t	 in_off, in_len, out_off, out_len;
};

struct rec {
	struct span	*v;
	size_t		 n, cap;
	struct buf	 out;
};

static void
trace(void *arg, enum mime_dg_span kind, off_t in_off, off_t in_len,
    off_t out_off, off_t out_len)
{
	struct rec *r = arg;

	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 64;
		r->v = xreallocarray(r->v, r->cap, sizeof(*r->v));
	}
	r->v[r->n].kind = kind;
	r->v[r->n].in_off = in_off;
	r->v[r->n].in_len = in_len;
	r->v[r->n].out_off = out_off;
	r->v[r->n].out_len = out_len;
	r->n++;
}

static int
emit(void *arg, const char *p, size_t n, struct err *e)
{
	struct rec *r = arg;

	(void)e;
	if (buf_add(&r->out, p, n) == -1)
		abort();
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Strict decoding: "=XX" upper-case hex, "=\r\n" soft break. */
static long
qp_decode(const char *s, size_t n, char *out)
{
	size_t i = 0, o = 0;
	int a, b;

	while (i < n) {
		if (s[i] != '=') {
			out[o++] = s[i++];
			continue;
		}
		if (i + 2 < n && s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 3;
			continue;
		}
		if (i + 2 >= n || (a = hexval(s[i + 1])) < 0 ||
		    (b = hexval(s[i + 2])) < 0)
			return -1;
		out[o++] = (char)(a << 4 | b);
		i += 3;
	}
	return (long)o;
}

static int
seven_bit(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 0;
	return 1;
}

/* 7-bit, lines of at most 76 between CRLFs, no bare CR or LF. */
static int
qp_lines_ok(const char *s, size_t n)
{
	size_t i, col = 0;

	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] >= 0x80 || s[i] == '\n')
			return 0;
		if (s[i] == '\r') {
			if (i + 1 >= n || s[i + 1] != '\n')
				return 0;
			i++;
			col = 0;
		} else if (++col > MIME_QP_LINE)
			return 0;
	}
	return 1;
}

/*
 * Both passes; 1 when the converter refused the message (an 8-bit
 * header field it cannot encode), which must then say so as ERR_DATA.
 */
static int
run(const char *in, size_t n, size_t step, struct rec *r)
{
	struct mime_dg_plan *plan = mime_dg_plan_new();
	struct mime_dg *d;
	struct err e;
	size_t i;
	int refused = 0;

	err_clear(&e);
	d = mime_dg_scanner(plan);
	for (i = 0; i < n; i += step)
		mime_dg_feed(d, in + i, n - i < step ? n - i : step, &e);
	mime_dg_finish(d, &e);
	mime_dg_free(d);
	d = mime_dg_converter(plan, emit, r);
	mime_dg_set_trace(d, trace, r);
	for (i = 0; i < n && !refused; i += step)
		if (mime_dg_feed(d, in + i, n - i < step ? n - i : step, &e) ==
		    -1)
			refused = 1;
	if (!refused && mime_dg_finish(d, &e) == -1)
		refused = 1;
	if (refused && (e.kind != ERR_DATA ||
	    strstr(e.text, "cannot be made 7-bit") == NULL))
		abort();
	mime_dg_free(d);
	mime_dg_plan_free(plan);
	return refused;
}

static void
check(const char *in, size_t n, struct rec *r)
{
	const char *out = r->out.data ? r->out.data : "";
	off_t ip = 0, op = 0;
	char *dec;
	size_t i;
	long k;

	for (i = 0; i < r->n; i++) {
		struct span *s = &r->v[i];
		const char *o = out + s->out_off, *p = in + s->in_off;

		if (s->in_off != ip || s->out_off != op)
			abort();
		switch (s->kind) {
		case MIME_DG_HEADER:
		case MIME_DG_OPAQUE:
		case MIME_DG_STRUCT:
		case MIME_DG_TEXT:
			if (s->in_len != s->out_len ||
			    memcmp(o, p, (size_t)s->in_len) != 0)
				abort();
			/* Header fields too: an 8-bit one is written
			   again (ADD) or the message refused. */
			if ((s->kind == MIME_DG_TEXT ||
			    s->kind == MIME_DG_STRUCT ||
			    s->kind == MIME_DG_HEADER) &&
			    !seven_bit(o, (size_t)s->out_len))
				abort();
			break;
		case MIME_DG_DROP:
			if (s->out_len != 0)
				abort();
			break;
		case MIME_DG_ADD:
			if (s->in_len != 0 || !seven_bit(o, (size_t)s->out_len))
				abort();
			break;
		case MIME_DG_QP:
			if (!qp_lines_ok(o, (size_t)s->out_len))
				abort();
			dec = xmalloc((size_t)s->out_len + 1);
			k = qp_decode(o, (size_t)s->out_len, dec);
			if (k != s->in_len || memcmp(dec, p, (size_t)k) != 0)
				abort();
			free(dec);
			break;
		}
		ip += s->in_len;
		op += s->out_len;
	}
	if (ip != (off_t)n || op != (off_t)r->out.len)
		abort();
}

/* Sniffing whole and a piece at a time agree; QP decodes back. */
static void
other(const char *in, size_t n)
{
	struct mime_sniff a, b;
	struct mime_qp q;
	char *enc, *dec;
	size_t i, k;
	long d;

	mime_sniff_init(&a, "--=_");
	mime_sniff_feed(&a, in, n);
	mime_sniff_end(&a);
	mime_sniff_init(&b, "--=_");
	for (i = 0; i < n; i += 3)
		mime_sniff_feed(&b, in + i, n - i < 3 ? n - i : 3);
	mime_sniff_end(&b);
	if (a.longest != b.longest || a.hi != b.hi || a.utf8 != b.utf8 ||
	    a.nul != b.nul || a.bare_cr != b.bare_cr || a.lines != b.lines ||
	    a.dash_line != b.dash_line || a.from_line != b.from_line ||
	    a.avoid_line != b.avoid_line || a.final_nl != b.final_nl)
		abort();
	(void)mime_choose(&a, MIME_CLASS_TEXT, 1);
	(void)mime_charset(&a, "iso-8859-1");

	enc = xmalloc(MIME_QP_MAX(n));
	mime_qp_init(&q, 0);
	k = mime_qp_encode(&q, in, n, enc);
	k += mime_qp_finish(&q, enc + k);
	if (!qp_lines_ok(enc, k))
		abort();
	dec = xmalloc(k + 1);
	d = qp_decode(enc, k, dec);
	if (d != (long)n || memcmp(dec, in, n) != 0)
		abort();
	free(enc);
	free(dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct rec a, b;
	int ra, rb;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	buf_init(&a.out, 0);
	buf_init(&b.out, 0);
	ra = run(in, size, size > 0 ? size : 1, &a);
	if (!ra)
		check(in, size, &a);
	rb = run(in, size, 1 + size % 7, &b);
	if (ra != rb || (!ra && (a.out.len != b.out.len || (a.out.len > 0 &&
	    memcmp(a.out.data, b.out.data, a.out.len) != 0))))
		abort();
	other(in, size);
	free(a.v);
	free(b.v);
	buf_release(&a.out);
	buf_release(&b.out);
	return 0;
}
