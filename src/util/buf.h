/*
 * buf: a growable byte buffer with a hard cap.  Every buffer that holds
 * input from outside (a header field, a reply line, a config line) is a buf
 * with a cap, so hostile input costs a bounded amount of memory.
 */
#ifndef POSTHORN_BUF_H
#define POSTHORN_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;	/* NUL-terminated when len < cap; may be NULL if empty */
	size_t	 len;
	size_t	 cap;
	size_t	 max;	/* hard cap on len; 0 = unlimited */
	int	 secret;	/* wipe every byte it gives back */
};

/* Starts empty; max 0 means no cap. */
void	 buf_init(struct buf *b, size_t max);
/*
 * The same for a buffer that will hold a secret (a password, a file that
 * may hold one): when it grows, the old storage is wiped before it is
 * freed, and buf_release wipes too, so no copy is left behind in freed
 * memory.  buf_detach hands the storage over (the caller wipes it).
 */
void	 buf_init_secret(struct buf *b, size_t max);
/* Frees the storage; the buf may be reused after buf_init. */
void	 buf_release(struct buf *b);
/* Like buf_release but overwrites the bytes first (secrets). */
void	 buf_wipe(struct buf *b);
/* Empties without freeing. */
void	 buf_reset(struct buf *b);

/*
 * Appends; 0 on success, -1 when the result would exceed max (the buffer
 * is left unchanged).
 */
int	 buf_add(struct buf *b, const void *p, size_t n);
int	 buf_addc(struct buf *b, int c);
int	 buf_adds(struct buf *b, const char *s);
int	 buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	 buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));

/* Removes the first n bytes (n <= len). */
void	 buf_consume(struct buf *b, size_t n);
/* Shortens to n bytes (n <= len). */
void	 buf_truncate(struct buf *b, size_t n);
/* The contents as a C string ("" when empty); valid until the next change. */
const char *buf_str(struct buf *b);
/* Hands the storage to the caller as a C string (caller frees); b is empty after. */
char	*buf_detach(struct buf *b);

#endif
