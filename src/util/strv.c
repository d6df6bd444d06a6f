/*
 * strv owns string vectors: the recipients, attachments and headers of the
 * command line, alias expansions.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/strv.h"

/*
 * Slots allocated for a vector of n entries and its terminator: powers of
 * two, so that appending is amortised constant time (strv_take is the
 * only thing that grows a vector).
 */
static size_t
strv_room(size_t n)
{
	size_t c = 8;

	while (c < n)
		c *= 2;
	return c;
}

void
strv_take(struct strv *v, char *s)
{
	if (v->v == NULL || v->n + 2 > strv_room(v->n + 1))
		v->v = xreallocarray(v->v, strv_room(v->n + 2),
		    sizeof(*v->v));
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
