/*
 * fuzz_bounce: the failure report's parsers and writer.  The input is
 * split at its first two NUL bytes into a server reply, the final error
 * and a stored message; the first two octets of the reply, when there
 * are two, also pick the header section's cap.
 *
 *   bounce_header_len must give a length within the cap and the input,
 *   ending at the start of a line (or the end of the input);
 *   bounce_status must give a status "C.S.D" of at most 15 characters
 *   whose class is 2, 4 or 5, or the default;
 *   bounce_compose must write lines that all end in CRLF (no bare CR or
 *   LF, no NUL), the boundary three times as a part's start and once as
 *   the end, and one Final-Recipient per recipient not delivered.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounce.h"
#include "envelope.h"
#include "util/alloc.h"
#include "util/buf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_status(const char *s, const char *dflt)
{
	size_t n = strlen(s);

	if (n > 15)
		abort();
	if (strcmp(s, dflt) == 0)
		return;
	if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		abort();
}

static size_t
count(const char *hay, size_t len, const char *needle)
{
	size_t n = 0, l = strlen(needle);
	const char *p = hay, *end = hay + len, *q;

	while ((q = memmem(p, (size_t)(end - p), needle, l)) != NULL) {
		n++;
		p = q + l;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *z1, *z2;
	char *reply, *why, status[16], marker[64];
	const char *msg, *hdrpart;
	size_t msglen, hlen, max, i;
	struct envelope env;
	struct bounce_report r;
	struct rcpt *rc;
	struct buf out;

	if ((z1 = memchr(in, '\0', size)) == NULL)
		return 0;
	if ((z2 = memchr(z1 + 1, '\0', size - (size_t)(z1 + 1 - in))) == NULL)
		return 0;
	reply = xstrndup(in, (size_t)(z1 - in));
	why = xstrndup(z1 + 1, (size_t)(z2 - z1 - 1));
	msg = z2 + 1;
	msglen = size - (size_t)(msg - in);
	max = BOUNCE_HEADER_MAX;
	if (z1 - in >= 2)
		max = ((unsigned char)in[0] << 8 | (unsigned char)in[1]) %
		    (BOUNCE_HEADER_MAX + 1);

	hlen = bounce_header_len(msg, msglen, max);
	if (hlen > max || hlen > msglen)
		abort();
	if (hlen > 0 && hlen < msglen && msg[hlen - 1] != '\n')
		abort();

	bounce_status(reply, "5.0.0", status);
	check_status(status, "5.0.0");
	bounce_status(why, "4.4.7", status);
	check_status(status, "4.4.7");

	envelope_init(&env);
	envelope_set(&env.sender, "alice@example.org");
	rc = envelope_add_rcpt(&env, "bob@example.org");
	rc->state = RCPT_FAILED;
	rc->code = 550;
	envelope_set(&rc->reply, reply);
	rc = envelope_add_rcpt(&env, "carol@example.org");
	rc->code = 250;
	envelope_add_rcpt(&env, "dave@example.org")->state = RCPT_DONE;
	env.created = 1763904000;

	memset(&r, 0, sizeof(r));
	r.env = &env;
	r.id = "6B10F0D1181A9nO9w";
	r.to = "alice@example.org";
	r.why = why;
	r.mta = "client.example";
	r.remote = "mail.example.org";
	r.domain = "example.org";
	r.boundary = "posthorn-0123456789abcdefghijklmn";
	r.headers = msg;
	r.headers_len = hlen;
	r.expired = size % 2;
	r.now = 1763904060;
	buf_init(&out, 0);
	if (bounce_compose(&out, &r) == -1)
		abort();
	for (i = 0; i < out.len; i++) {
		if (out.data[i] == '\0')
			abort();
		if (out.data[i] == '\r' && (i + 1 == out.len ||
		    out.data[i + 1] != '\n'))
			abort();
		if (out.data[i] == '\n' && (i == 0 || out.data[i - 1] != '\r'))
			abort();
	}
	if (out.len < 2 || memcmp(out.data + out.len - 2, "\r\n", 2) != 0)
		abort();
	/* The original's header cannot hold the boundary (the caller picks
	   one it does not), so only count when it does not. */
	if (memmem(msg, hlen, "posthorn-0123456789abcdefghijklmn", 33) ==
	    NULL && memmem(why, strlen(why), "posthorn-0123456789", 19) ==
	    NULL && memmem(reply, strlen(reply), "posthorn-0123456789", 19)
	    == NULL) {
		snprintf(marker, sizeof(marker), "\r\n--%s\r\n", r.boundary);
		if (count(out.data, out.len, marker) != 3)
			abort();
		snprintf(marker, sizeof(marker), "\r\n--%s--\r\n", r.boundary);
		if (count(out.data, out.len, marker) != 1)
			abort();
	}
	/* Before the original's header, which may hold anything. */
	hdrpart = memmem(out.data, out.len, "\r\nContent-Description: "
	    "Undelivered message header\r\n", 51);
	if (hdrpart == NULL || count(out.data, (size_t)(hdrpart - out.data),
	    "\r\nFinal-Recipient: ") != 2)
		abort();
	buf_release(&out);
	envelope_release(&env);
	free(reply);
	free(why);
	return 0;
}
