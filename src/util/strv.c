/*
 * strv owns string vectors: the recipients, attachments and headers of the
 * command line, alias expansions.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/strv.h"

/* The room held for n entries and the NULL: the next power of two. */
static size_t
room(size_t n)
{
	size_t r = 4;

	while (r < n + 1)
		r *= 2;
	return r;
}

void
strv_take(struct strv *v, char *s)
{
	/* Grows by doubling, so a list of n costs O(n), not O(n^2) (with
	   a sanitizer's realloc, which always copies, minutes for 25,000
	   recipients read with -t). */
	if (v->v == NULL || room(v->n + 1) != room(v->n))
		v->v = xreallocarray(v->v, room(v->n + 1), sizeof(*v->v));
	v->v[v->n++] = s;
	v->v[v->n] = NULL;
}

void
strv_add(struct strv *v, const char *s)
{
	strv_take(v, xstrdup(s));
}

int
strv_has(const struct strv *v, const char *s)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return 1;
	return 0;
}

void
strv_free(struct strv *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}
