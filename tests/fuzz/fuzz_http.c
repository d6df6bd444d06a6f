/*
 * fuzz_http: the input is what an HTTP server sends.  The first byte picks
 * how it is cut into pushes (1 to 256 bytes each); the rest goes into one
 * response parser, then the end of the stream.  A complete response must
 * have a status in 200..599 and a body within the cap; an error must say
 * something.  The same input is also tried as a URL.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

#define CAP	4096

static void
try_url(const uint8_t *d, size_t n)
{
	struct err e;
	char *s, *host, *path;
	int port;

	s = malloc(n + 1);
	if (s == NULL)
		return;
	memcpy(s, d, n);
	s[n] = '\0';
	if (http_url_parse(s, &host, &port, &path, &e) == 0) {
		if (host == NULL || path == NULL || path[0] != '/' ||
		    port < 1 || port > 65535 || host[0] == '\0')
			abort();
		free(host);
		free(path);
	} else if (e.text[0] == '\0' || e.kind != ERR_CONFIG)
		abort();
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct http_resp r;
	struct err e;
	size_t step, i, k;
	int rv = 0;

	try_url(d, n);
	if (n == 0)
		return 0;
	step = (size_t)d[0] + 1;
	http_resp_init(&r, CAP);
	err_clear(&e);
	for (i = 1; i < n && rv == 0; i += k) {
		k = n - i < step ? n - i : step;
		rv = http_resp_push(&r, d + i, k, &e);
	}
	if (rv == 0)
		rv = http_resp_eof(&r, &e);
	if (rv == 1) {
		if (r.status < 200 || r.status > 599 || r.body.len > CAP)
			abort();
	} else if (rv != -1 || e.text[0] == '\0' ||
	    (e.kind != ERR_PROTOCOL && e.kind != ERR_TEMP))
		abort();
	http_resp_release(&r);
	return 0;
}
