/*
 * progress: one line on a terminal while a large message is sent (bytes
 * sent, rate, time left), erased when the message is done.  Nothing at
 * all when stderr is not a terminal or the message is small.
 */
#ifndef POSTHORN_PROGRESS_H
#define POSTHORN_PROGRESS_H

#include <sys/types.h>

/* Messages smaller than this get no progress line. */
#define PROGRESS_MIN	(4 * 1024 * 1024)

struct progress;

/*
 * Starts a progress line for total bytes on fd (normally 2) when fd is a
 * terminal and total is at least PROGRESS_MIN; otherwise returns NULL,
 * which the other calls accept and ignore.
 */
struct progress *progress_new(int fd, off_t total);
/* done bytes of total are sent; redraws at most a few times a second. */
void	 progress_update(struct progress *p, off_t done);
/* Erases the line and frees p (NULL is fine). */
void	 progress_done(struct progress *p);

/*
 * The text of the line for done of total bytes after secs seconds, into
 * out (size n): "  12.5 MiB of 100.0 MiB  48.2 MiB/s  0:02 left".  For
 * tests.
 */
void	 progress_format(char *out, size_t n, off_t done, off_t total,
	    double secs);

#endif
