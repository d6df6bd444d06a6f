/*
 * progress owns the terminal progress line of a long send: when to show
 * it (stderr is a terminal, the message is large), how often to redraw
 * it (four times a second at most, so that it costs nothing next to the
 * data), what it says, and wiping it so that the next line of output
 * starts clean.  It writes with write(2) to its descriptor and ignores
 * errors: a broken terminal must not fail a delivery.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progress.h"
#include "util/alloc.h"

#define PROGRESS_EVERY	0.25	/* seconds between redraws */
#define PROGRESS_DELAY	0.5	/* nothing before this: fast sends stay quiet */

struct progress {
	int	 fd;
	off_t	 total;
	double	 start;
	double	 last;
	size_t	 width;		/* columns of the line on screen */
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct progress *
progress_new(int fd, off_t total)
{
	struct progress *p;

	if (total < PROGRESS_MIN || !isatty(fd))
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->fd = fd;
	p->total = total;
	p->start = now();
	p->last = p->start;
	return p;
}

/* Bytes as "512 B", "12.5 KiB", "3.0 MiB", "1.2 GiB". */
static void
human(char *out, size_t n, double v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, n, "%.0f B", v);
	else
		snprintf(out, n, "%.1f %s", v, unit[u]);
}

void
progress_format(char *out, size_t n, off_t done, off_t total, double secs)
{
	char d[32], t[32], r[32], left[32];
	double rate = secs > 0 ? (double)done / secs : 0;
	long eta;

	human(d, sizeof(d), (double)done);
	human(t, sizeof(t), (double)total);
	human(r, sizeof(r), rate);
	if (rate > 0 && done < total) {
		eta = (long)((double)(total - done) / rate + 0.5);
		if (eta >= 3600)
			snprintf(left, sizeof(left), "%ld:%02ld:%02ld left",
			    eta / 3600, eta / 60 % 60, eta % 60);
		else
			snprintf(left, sizeof(left), "%ld:%02ld left",
			    eta / 60, eta % 60);
	} else
		snprintf(left, sizeof(left), "--:-- left");
	snprintf(out, n, "  %s of %s  %s/s  %s", d, t, r, left);
}

void
progress_update(struct progress *p, off_t done)
{
	char line[128], pad[160];
	double t;
	size_t len;
	ssize_t w;

	if (p == NULL)
		return;
	t = now();
	if (t - p->start < PROGRESS_DELAY || t - p->last < PROGRESS_EVERY)
		return;
	p->last = t;
	progress_format(line, sizeof(line), done, p->total, t - p->start);
	len = strlen(line);
	/* Overwrite what a longer earlier line left. */
	snprintf(pad, sizeof(pad), "\r%s%*s", line,
	    p->width > len ? (int)(p->width - len) : 0, "");
	if (len > p->width)
		p->width = len;
	w = write(p->fd, pad, strlen(pad));
	(void)w;
}

void
progress_done(struct progress *p)
{
	char pad[160];
	ssize_t w;

	if (p == NULL)
		return;
	if (p->width > 0 && p->width < sizeof(pad) - 3) {
		snprintf(pad, sizeof(pad), "\r%*s\r", (int)p->width, "");
		w = write(p->fd, pad, strlen(pad));
		(void)w;
	}
	free(p);
}
