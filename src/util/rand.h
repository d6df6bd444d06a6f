/*
 * rand: unpredictable bytes from the kernel, for queue ids, Message-IDs
 * and MIME boundaries.
 */
#ifndef POSTHORN_RAND_H
#define POSTHORN_RAND_H

#include <stddef.h>

/* Fills p with n random bytes; 0 or -1 (errno). */
int	 rand_bytes(void *p, size_t n);
/*
 * Writes n characters from [0-9A-Za-z] and a terminator into out (room for
 * n + 1); 0 or -1 (errno).
 */
int	 rand_alnum(char *out, size_t n);

#endif
