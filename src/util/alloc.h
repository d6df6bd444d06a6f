/*
 * alloc: allocation that never returns NULL.  Running out of memory is the
 * one failure posthorn does not route through an error record: nothing has
 * been accepted from the caller yet when it can happen (the message is only
 * done when the server said 250 or it is on disk), so the process writes one
 * line and exits with EX_OSERR-like status 70 at once.
 */
#ifndef POSTHORN_ALLOC_H
#define POSTHORN_ALLOC_H

#include <stddef.h>

/* malloc/calloc/realloc/strdup that end the process on failure. */
void	*xmalloc(size_t n);
void	*xcalloc(size_t n, size_t size);
void	*xrealloc(void *p, size_t n);
void	*xreallocarray(void *p, size_t n, size_t size);
char	*xstrdup(const char *s);
char	*xstrndup(const char *s, size_t n);
/* Formatted allocation; caller frees. */
char	*xasprintf(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* Overwrites n bytes at p so the compiler cannot drop it (secrets). */
void	 wipe(void *p, size_t n);
/* Wipes a NUL-terminated string and frees it; NULL is fine. */
void	 wipe_free(char *s);

#endif
