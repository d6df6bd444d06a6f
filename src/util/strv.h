/*
 * strv: a growable, NULL-terminated vector of owned strings.
 */
#ifndef POSTHORN_STRV_H
#define POSTHORN_STRV_H

#include <stddef.h>

struct strv {
	char	**v;	/* NULL-terminated once anything was added */
	size_t	  n;
};

/* Appends a copy of s. */
void	 strv_add(struct strv *v, const char *s);
/* Appends s itself (takes ownership). */
void	 strv_take(struct strv *v, char *s);
/* 1 if s is present (exact match). */
int	 strv_has(const struct strv *v, const char *s);
void	 strv_free(struct strv *v);

#endif
