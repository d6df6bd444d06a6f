/*
 * fuzz_persist: the lines of the holder's socket exchange (persist.c).
 * The input's first byte picks the parser: even, the client's request
 * line; odd, the holder's DONE line.  A line accepted must hold only what
 * the grammar allows (a 24-digit hex key, a valid queue id, numbers in
 * range) and, for a request, format back to the same bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "persist.h"
#include "spool.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
request(const char *p, size_t n)
{
	struct persist_request r;
	char out[512];
	size_t i;
	int w;

	if (persist_parse_request(p, n, &r) == -1)
		return;
	if (strlen(r.key) != PERSIST_KEY_LEN - 1 || !spool_valid_id(r.id) ||
	    r.verbose < 0 || r.verbose > 9 || (r.json != 0 && r.json != 1) ||
	    (r.queued != 0 && r.queued != 1) ||
	    r.envlen > PERSIST_ENV_MAX)
		abort();
	for (i = 0; i < PERSIST_KEY_LEN - 1; i++)
		if (strchr("0123456789abcdef", r.key[i]) == NULL)
			abort();
	w = persist_format_request(&r, out, sizeof(out));
	if (w < 1 || (size_t)w != n + 1 || memcmp(out, p, n) != 0 ||
	    out[n] != '\n')
		abort();
}

static void
done(const char *p, size_t n)
{
	size_t outlen, errlen;
	int code;

	if (persist_parse_done(p, n, &code, &outlen, &errlen) == -1)
		return;
	if (code < 0 || code > 255 || outlen > PERSIST_ENV_MAX ||
	    errlen > PERSIST_ENV_MAX)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		done((const char *)data + 1, size - 1);
	else
		request((const char *)data + 1, size - 1);
	return 0;
}
