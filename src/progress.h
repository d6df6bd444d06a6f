/*
 * progress: one status line on a terminal while posthorn works: the
 * bytes of a large message as they are sent (bytes sent, rate, time
 * left), and what posthorn waits for when a server is slow ("waiting for
 * the reply to DATA, 40 s of 300").  Erased when done.  Nothing at all
 * when stderr is not a terminal, for a small message, or for a short
 * wait.
 */
#ifndef POSTHORN_PROGRESS_H
#define POSTHORN_PROGRESS_H

#include <stddef.h>
#include <sys/types.h>

/* Messages smaller than this get no byte count. */
#define PROGRESS_MIN	(4 * 1024 * 1024)

struct progress;

/*
 * A status line on fd (normally 2) when fd is a terminal; otherwise
 * NULL, which every other call accepts and ignores.
 */
struct progress *progress_new(int fd);
/* Erases the line and frees p (NULL is fine). */
void	 progress_free(struct progress *p);

/* A message of total bytes starts (no byte count below PROGRESS_MIN). */
void	 progress_start(struct progress *p, off_t total);
/* done bytes of it are sent; redraws at most a few times a second. */
void	 progress_update(struct progress *p, off_t done);
/* The message is done: erases the line. */
void	 progress_end(struct progress *p);

/*
 * posthorn has waited waited ms for what ("for the reply to DATA"; a
 * static string) under a limit of limit seconds (0: none): shows
 * "waiting for the reply to DATA, 40 s of 300".  what NULL: the wait is
 * over; the line is erased (a byte count comes back at its next update).
 */
void	 progress_wait(struct progress *p, const char *what, long long waited,
	    int limit);

/*
 * The byte count's text for done of total bytes after secs seconds, into
 * out (size n): "  12.5 MiB of 100.0 MiB  48.2 MiB/s  0:02 left".  For
 * tests.
 */
void	 progress_format(char *out, size_t n, off_t done, off_t total,
	    double secs);
/*
 * The wait's text into out (size n): "waiting for the reply to DATA, 40 s
 * of 300" (", 40 s" alone without a limit).  -1 when it does not fit
 * (nothing is cut), else 0.
 */
int	 progress_format_wait(char *out, size_t n, const char *what,
	    long long waited, int limit);

#endif
