/*
 * str: small string helpers shared by every module.
 */
#ifndef POSTHORN_STR_H
#define POSTHORN_STR_H

#include <stddef.h>

struct buf;

/* 1 if s starts with prefix (case-sensitive / ASCII case-insensitive). */
int	 str_prefix(const char *s, const char *prefix);
int	 str_caseprefix(const char *s, const char *prefix);
/* ASCII case-insensitive equality of a counted string and a C string. */
int	 str_caseeqn(const char *s, size_t n, const char *word);
/* 1 if s holds CR, LF or any byte < 0x20 other than TAB. */
int	 str_has_ctl(const char *s);
/* 1 if the n bytes are all 7-bit. */
int	 str_is_ascii(const char *s, size_t n);
/* Removes leading and trailing spaces and tabs in place; returns s. */
char	*str_trim(char *s);
/* Lower-/upper-cases ASCII letters in place; returns s. */
char	*str_lower(char *s);
char	*str_upper(char *s);
/*
 * Length of the valid UTF-8 sequence at s[0..n) (1 for ASCII), or 0 when
 * it is not one (overlong forms, surrogates and code points past U+10FFFF
 * are not).  n must be at least 1.
 */
size_t	 str_utf8_len(const char *s, size_t n);

/*
 * Appends s[0..n), text that may come from anywhere (a server, a file
 * name), as one line that is safe on a terminal: CR, LF, TAB and runs of
 * spaces become one space (none at either end); C0 controls and DEL are
 * written "\x1b"; C1 controls, and the Unicode characters that reorder or
 * break lines (U+2028, U+2029, the bidirectional overrides and
 * isolates), "\u009b"; a byte that is not part of valid UTF-8 "\xff".
 * Valid UTF-8 text is kept.  -1 when out's cap is hit (out unchanged).
 */
int	 str_sanitize(struct buf *out, const char *s, size_t n);

/*
 * The same into out (size outsz, always terminated), cut where it no
 * longer fits: never inside a character or an escape, and a space is not
 * written unless the character after it fits too.  Returns 1 when the
 * whole text fitted, 0 when it was cut.
 */
int	 str_oneline(char *out, size_t outsz, const char *s, size_t n);

/*
 * Appends s[0..n) as the inside of a JSON string (RFC 8259, without the
 * quotes): '"' and '\\' escaped, control characters (C0, DEL, C1) and
 * U+2028/U+2029 as \u00XX, every byte that is not valid UTF-8 replaced by
 * U+FFFD, so that the result is valid JSON and valid UTF-8 whatever s
 * holds.  -1 when out's cap is hit (out unchanged).
 */
int	 str_json_escape(struct buf *out, const char *s, size_t n);

/* The value of a hex digit (either case), or -1. */
int	 str_hexval(int c);

/*
 * RFC 3461 xtext: bytes outside '!'..'~', and '+' and '=', become "+HH".
 * Used for DSN parameters and for the queue's envelope files.
 * encode: -1 if out's cap is hit; decode: -1 on malformed input.
 */
int	 str_xtext_encode(struct buf *out, const char *s);
int	 str_xtext_decode(struct buf *out, const char *s);

#endif
