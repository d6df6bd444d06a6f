/*
 * fuzz_smtp_reply: the input is what a server sends.  It is cut into lines
 * as conn_getline would (LF, an optional CR before it removed) and pushed
 * into one reply; an error or a completed reply resets it and the next
 * line starts a new one.  Completed replies also go through the one-line
 * form and the EHLO capability parser, and the invariants of each are
 * checked.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "smtp_reply.h"

int	LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void
check_complete(const struct smtp_reply *r)
{
	struct smtp_caps caps;
	char line[512], tiny[8];
	size_t i, len;

	if (r->code < 200 || r->code > 599 || r->nlines == 0 ||
	    r->nlines > SMTP_REPLY_LINES_MAX ||
	    r->text.len > SMTP_REPLY_TEXT_MAX)
		abort();
	if (r->status[0] != '\0' && r->status[0] - '0' != r->code / 100)
		abort();

	smtp_reply_oneline(r, line, sizeof(line));
	len = strlen(line);
	if (len < 3 || len >= sizeof(line))
		abort();
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			abort();
	smtp_reply_oneline(r, tiny, sizeof(tiny));
	if (strlen(tiny) >= sizeof(tiny) || strncmp(tiny, line, 3) != 0)
		abort();

	smtp_caps_parse(r, &caps);
	if (strlen(caps.auth) >= sizeof(caps.auth))
		abort();
	if (caps.auth[0] != '\0' && !(caps.flags & CAP_AUTH))
		abort();
	(void)smtp_caps_has_auth(&caps, "PLAIN");
	(void)smtp_caps_has_auth(&caps, "SCRAM-SHA-256");
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct smtp_reply r;
	struct err e;
	const char *p = (const char *)d, *end = p + n, *nl;
	size_t len;
	int ret;

	smtp_reply_init(&r);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)((nl != NULL ? nl : end) - p);
		if (nl != NULL && len > 0 && p[len - 1] == '\r')
			len--;
		ret = smtp_reply_push(&r, p, len, &e);
		if (ret == 1)
			check_complete(&r);
		else if (ret == -1 && (e.kind != ERR_PROTOCOL ||
		    e.text[0] == '\0'))
			abort();
		if (ret != 0)
			smtp_reply_reset(&r);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	smtp_reply_release(&r);
	return 0;
}
