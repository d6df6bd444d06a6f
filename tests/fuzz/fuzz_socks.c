/*
 * fuzz_socks: the input's first byte picks the client's side (bit 0: a
 * user and password are configured; bit 1: the target is an address
 * literal), the rest is what the proxy says.  The whole SOCKS5 handshake
 * runs over a memory stream, then whatever is left is read through the
 * layer; the pure reply parsers also see the input directly.  Checked:
 * an error always has a kind and a text, the password never appears in
 * it, a success leaves the stream readable, and the parsers' lengths
 * stay within their bounds.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "socks.h"
#include "transport.h"
#include "util/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

#define PASSWORD	"fuzz-secret-pw"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct socks_params p;
	struct transport *below, *t;
	struct buf out;
	struct err e;
	unsigned char rest[256];
	ssize_t len, r;
	int mode;

	if (n == 0)
		return 0;
	mode = d[0];
	d++;
	n--;

	/* The pure parsers on their own. */
	err_clear(&e);
	len = socks_connect_reply_len(d, n, "proxy", &e);
	if (len == -1 && (e.kind == ERR_NONE || e.text[0] == '\0'))
		abort();
	if (len > 0 && (len < 4 + 1 + 2 || len > 4 + 1 + 255 + 2))
		abort();
	if (len > 0 && (size_t)len <= n) {
		err_clear(&e);
		if (socks_connect_reply(d, (size_t)len, "proxy", "host", 25,
		    &e) == -1 && e.kind == ERR_NONE)
			abort();
	}
	err_clear(&e);
	if (socks_method_reply(d, n < 2 ? n : 2, mode & 1, "proxy", &e) == -1
	    && e.kind == ERR_NONE)
		abort();

	/* The handshake over a memory stream. */
	memset(&p, 0, sizeof(p));
	p.host = (mode & 2) ? "192.0.2.1" : "smtp.example.org";
	p.port = 587;
	p.user = (mode & 1) ? "user" : NULL;
	p.password = (mode & 1) ? PASSWORD : NULL;
	p.proxy = "proxy";
	buf_init(&out, 4096);
	below = transport_memory_buf(d, n, &out, "proxy");
	err_clear(&e);
	t = socks_connect(below, &p, 0, &e);
	if (t == NULL) {
		if (e.kind == ERR_NONE || e.text[0] == '\0' ||
		    strstr(e.text, PASSWORD) != NULL)
			abort();
	} else {
		if (strcmp(t->label, p.host) != 0)
			abort();
		/* The first bytes sent: version 5 and the methods. */
		if (out.len < 3 || ((unsigned char *)out.data)[0] != 5)
			abort();
		do {
			err_clear(&e);
			r = transport_read(t, rest, sizeof(rest), &e);
		} while (r > 0);
		transport_close(t);
	}
	buf_release(&out);
	return 0;
}
