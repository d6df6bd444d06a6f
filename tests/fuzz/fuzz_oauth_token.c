/*
 * fuzz_oauth_token: the input is a token endpoint's answer.  The first two
 * bytes pick the HTTP status (100..599); the rest is the body, read as a
 * token answer, as a device authorization answer, and (as text) as a
 * redirect's query string.  Success must give a usable token that expires
 * after it was issued; failure must say something, with an error code that
 * is a plain word.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "oauth.h"
#include "oauth_code.h"
#include "oauth_store.h"

int	LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void
check_token(int status, const char *body, size_t n)
{
	struct oauth_tokens t;
	struct err e;
	char code[OAUTH_ERRCODE_MAX];
	size_t i;

	err_clear(&e);
	if (oauth_token_parse(status, body, n, 1000, &t, code, &e) == 0) {
		if (t.access == NULL || t.access[0] == '\0' || t.expires < 1000)
			abort();
		for (i = 0; t.access[i] != '\0'; i++)
			if ((unsigned char)t.access[i] <= 0x20)
				abort();
		oauth_tokens_release(&t);
		return;
	}
	if (e.text[0] == '\0' || t.access != NULL || strlen(code) >=
	    OAUTH_ERRCODE_MAX)
		abort();
	for (i = 0; code[i] != '\0'; i++)
		if (code[i] == ' ' || (unsigned char)code[i] < 0x21)
			abort();
}

static void
check_device(int status, const char *body, size_t n)
{
	struct oauth_device dev;
	struct err e;

	err_clear(&e);
	if (oauth_device_parse(status, body, n, &dev, &e) == 0) {
		if (dev.device_code == NULL || dev.user_code == NULL ||
		    dev.verification_uri == NULL || dev.interval < 0 ||
		    dev.expires_in <= 0)
			abort();
		oauth_device_release(&dev);
	} else if (e.text[0] == '\0' || dev.device_code != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s, *v;
	int status;

	if (n < 2)
		return 0;
	status = 100 + (d[0] << 8 | d[1]) % 500;
	check_token(status, (const char *)d + 2, n - 2);
	check_device(status, (const char *)d + 2, n - 2);
	s = malloc(n - 1);
	if (s == NULL)
		return 0;
	memcpy(s, d + 2, n - 2);
	s[n - 2] = '\0';
	if ((v = oauth_query_param(s, "code")) != NULL)
		free(v);
	free(s);
	return 0;
}
