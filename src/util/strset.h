/*
 * strset: a set of strings with constant-time lookups, for the places
 * where a list is checked for duplicates as it grows (recipients, alias
 * expansions): a linear search there makes 100,000 recipients take
 * minutes.
 */
#ifndef POSTHORN_STRSET_H
#define POSTHORN_STRSET_H

#include <stddef.h>

struct strset {
	char	**slot;		/* open addressing; NULL = free */
	size_t	  cap;		/* a power of two, or 0 */
	size_t	  n;
};

/* Starts empty (no allocation until the first add). */
void	 strset_init(struct strset *s);
/* Adds a copy of s[0..len) (no NUL inside); 1 when added, 0 when it was
   already there. */
int	 strset_add(struct strset *s, const char *key, size_t len);
/* 1 when s[0..len) is in the set. */
int	 strset_has(const struct strset *s, const char *key, size_t len);
/* Frees the copies; the set may be reused after strset_init. */
void	 strset_release(struct strset *s);

#endif
