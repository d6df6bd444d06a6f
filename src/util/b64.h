/*
 * b64: base64 (RFC 4648) for AUTH exchanges and MIME bodies.
 */
#ifndef POSTHORN_B64_H
#define POSTHORN_B64_H

#include <stddef.h>

/* Encoded length of n bytes, without line breaks or terminator. */
#define B64_LEN(n)	((((n) + 2) / 3) * 4)

/*
 * Encodes n bytes into out (room for B64_LEN(n) + 1), NUL-terminated;
 * returns the encoded length.
 */
size_t	 b64_encode(const void *in, size_t n, char *out);

/*
 * MIME form: lines of 76 characters (57 input bytes), each ended by CRLF,
 * the last line shorter.  out needs B64_MIME_LEN(n) bytes; returns the
 * bytes written.  Feeding a long input in pieces gives the same output as
 * one call as long as every piece but the last is a multiple of 57 bytes.
 */
#define B64_LINE_IN	57
#define B64_MIME_LEN(n)	(B64_LEN(n) + (((n) + B64_LINE_IN - 1) / B64_LINE_IN) * 2)
size_t	 b64_encode_mime(const void *in, size_t n, char *out);

/*
 * Decodes strict base64 (padding required, no whitespace) into out (room
 * for n / 4 * 3 bytes); returns the decoded length or -1 when the input is
 * not base64.
 */
long	 b64_decode(const char *in, size_t n, void *out);

#endif
