/*
 * mailq: the queue listing of -bp and mailq, for people (one line per
 * message) and for scripts (--json: one JSON object per line).
 */
#ifndef POSTHORN_MAILQ_H
#define POSTHORN_MAILQ_H

#include <stdio.h>
#include <time.h>

struct err;
struct spool;

/* Lists queue/ then failed/ of sp.  0 or -1 (ERR_IO). */
int	 mailq_print(struct spool *sp, int json, time_t now, FILE *out,
	    struct err *e);

#endif
