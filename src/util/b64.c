/*
 * b64 owns base64 encoding and decoding.  The MIME encoder works a line
 * (57 bytes in, 76 characters out) at a time with a 12-bit table, so a
 * large attachment encodes at memory speed.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "util/b64.h"

static const char alphabet[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Two output characters for every 12-bit value, built on first use. */
static uint16_t pair[4096];
static int pair_ready;

static void
pair_init(void)
{
	int i;

	for (i = 0; i < 4096; i++) {
		char c[2] = { alphabet[i >> 6], alphabet[i & 63] };

		memcpy(&pair[i], c, 2);
	}
	pair_ready = 1;
}

static size_t
encode_block(const unsigned char *in, size_t n, char *out)
{
	char *o = out;
	size_t i;

	if (!pair_ready)
		pair_init();
	for (i = 0; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];

		memcpy(o, &pair[v >> 12], 2);
		memcpy(o + 2, &pair[v & 0xfff], 2);
		o += 4;
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;

		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;

		*o++ = alphabet[v >> 18];
		*o++ = alphabet[(v >> 12) & 63];
		*o++ = alphabet[(v >> 6) & 63];
		*o++ = '=';
	}
	return (size_t)(o - out);
}

size_t
b64_encode(const void *in, size_t n, char *out)
{
	size_t len = encode_block(in, n, out);

	out[len] = '\0';
	return len;
}

size_t
b64_encode_mime(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	char *o = out;
	size_t take;

	while (n > 0) {
		take = n < B64_LINE_IN ? n : B64_LINE_IN;
		o += encode_block(p, take, o);
		*o++ = '\r';
		*o++ = '\n';
		p += take;
		n -= take;
	}
	return (size_t)(o - out);
}

static int
value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long
b64_decode(const char *in, size_t n, void *out)
{
	unsigned char *o = out;
	size_t i;
	int v[4], j, pad;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		pad = 0;
		for (j = 0; j < 4; j++) {
			if (in[i + j] == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
				continue;
			}
			if (pad || (v[j] = value((unsigned char)in[i + j])) < 0)
				return -1;
		}
		*o++ = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			*o++ = (unsigned char)(v[1] << 4 | v[2] >> 2);
		if (pad < 1)
			*o++ = (unsigned char)(v[2] << 6 | v[3]);
	}
	return (long)(o - (unsigned char *)out);
}
