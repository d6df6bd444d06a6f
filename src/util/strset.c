/*
 * strset owns a hash set of strings: open addressing with linear probing
 * over a power-of-two table kept at most half full, FNV-1a hashes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/strset.h"

static uint64_t
strset_hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

void
strset_init(struct strset *s)
{
	s->slot = NULL;
	s->cap = 0;
	s->n = 0;
}

/* The slot that holds key, or the free slot where it would go. */
static size_t
strset_find(const struct strset *s, const char *key, size_t len)
{
	size_t i = (size_t)strset_hash(key, len) & (s->cap - 1);

	while (s->slot[i] != NULL && (strncmp(s->slot[i], key, len) != 0 ||
	    s->slot[i][len] != '\0'))
		i = (i + 1) & (s->cap - 1);
	return i;
}

static void
strset_grow(struct strset *s)
{
	struct strset big;
	size_t i;

	big.cap = s->cap ? s->cap * 2 : 64;
	big.n = s->n;
	big.slot = xcalloc(big.cap, sizeof(*big.slot));
	for (i = 0; i < s->cap; i++)
		if (s->slot[i] != NULL)
			big.slot[strset_find(&big, s->slot[i],
			    strlen(s->slot[i]))] = s->slot[i];
	free(s->slot);
	*s = big;
}

int
strset_add(struct strset *s, const char *key, size_t len)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap)
		strset_grow(s);
	i = strset_find(s, key, len);
	if (s->slot[i] != NULL)
		return 0;
	s->slot[i] = xstrndup(key, len);
	s->n++;
	return 1;
}

int
strset_has(const struct strset *s, const char *key, size_t len)
{
	return s->cap != 0 && s->slot[strset_find(s, key, len)] != NULL;
}

void
strset_release(struct strset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->slot[i]);
	free(s->slot);
	strset_init(s);
}
