/*
 * strv owns string vectors: the recipients, attachments and headers of the
 * command line, alias expansions.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/strv.h"

void
strv_take(struct strv *v, char *s)
{
	v->v = xreallocarray(v->v, v->n + 2, sizeof(*v->v));
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
