/*
 * str: small string helpers shared by every module.
 */
#ifndef POSTHORN_STR_H
#define POSTHORN_STR_H

#include <stddef.h>

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
 * Copies at most n bytes of s into out (size outsz, always terminated) as
 * one printable line: CR, LF and TAB become spaces, other control bytes
 * '?', runs of spaces collapse.  Bytes >= 0x80 are kept (UTF-8 text).
 */
void	 str_oneline(char *out, size_t outsz, const char *s, size_t n);

/* The value of a hex digit (either case), or -1. */
int	 str_hexval(int c);

struct buf;
/*
 * RFC 3461 xtext: bytes outside '!'..'~', and '+' and '=', become "+HH".
 * Used for DSN parameters and for the queue's envelope files.
 * encode: -1 if out's cap is hit; decode: -1 on malformed input.
 */
int	 str_xtext_encode(struct buf *out, const char *s);
int	 str_xtext_decode(struct buf *out, const char *s);

#endif
