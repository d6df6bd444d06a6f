/*
 * progress owns the terminal's status line during a session: when to
 * show it (stderr is a terminal; the message is large, or a wait has
 * lasted a second), how often to redraw it (four times a second at most
 * for the byte count, so that it costs nothing next to the data; once a
 * second for a wait), what it says, and wiping it so that the next line
 * of output starts clean.  It writes with write(2) to its descriptor and
 * ignores errors: a broken terminal must not fail a delivery.
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
	off_t	 total;		/* the message's bytes; 0: no byte count */
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
progress_new(int fd)
{
	struct progress *p;

	if (!isatty(fd))
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->fd = fd;
	return p;
}

/* Shows line in place of what the line showed before. */
static void
draw(struct progress *p, const char *line)
{
	char pad[320];
	size_t len = strlen(line);
	ssize_t w;
	int n;

	/* Overwrite what a longer earlier line left. */
	n = snprintf(pad, sizeof(pad), "\r%s%*s", line,
	    p->width > len ? (int)(p->width - len) : 0, "");
	if (n < 0 || (size_t)n >= sizeof(pad))
		return;
	if (len > p->width)
		p->width = len;
	w = write(p->fd, pad, (size_t)n);
	(void)w;
}

/* Erases the line, if anything is on it. */
static void
erase(struct progress *p)
{
	char pad[320];
	ssize_t w;
	int n;

	if (p->width == 0)
		return;
	n = snprintf(pad, sizeof(pad), "\r%*s\r", (int)p->width, "");
	if (n > 0 && (size_t)n < sizeof(pad)) {
		w = write(p->fd, pad, (size_t)n);
		(void)w;
	}
	p->width = 0;
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

int
progress_format_wait(char *out, size_t n, const char *what, long long waited,
    int limit)
{
	int r;

	if (limit > 0)
		r = snprintf(out, n, "waiting %s, %lld s of %d", what,
		    waited / 1000, limit);
	else
		r = snprintf(out, n, "waiting %s, %lld s", what,
		    waited / 1000);
	if (r < 0 || (size_t)r >= n) {
		if (n > 0)
			out[0] = '\0';
		return -1;
	}
	return 0;
}

void
progress_start(struct progress *p, off_t total)
{
	if (p == NULL)
		return;
	p->total = total >= PROGRESS_MIN ? total : 0;
	p->start = now();
	p->last = p->start;
}

void
progress_update(struct progress *p, off_t done)
{
	char line[128];
	double t;

	if (p == NULL || p->total == 0)
		return;
	t = now();
	if (t - p->start < PROGRESS_DELAY || t - p->last < PROGRESS_EVERY)
		return;
	p->last = t;
	progress_format(line, sizeof(line), done, p->total, t - p->start);
	draw(p, line);
}

void
progress_end(struct progress *p)
{
	if (p == NULL)
		return;
	erase(p);
	p->total = 0;
}

void
progress_wait(struct progress *p, const char *what, long long waited,
    int limit)
{
	char line[256];

	if (p == NULL)
		return;
	if (what == NULL) {
		erase(p);
		return;
	}
	if (progress_format_wait(line, sizeof(line), what, waited,
	    limit) == 0)
		draw(p, line);
}

void
progress_free(struct progress *p)
{
	if (p == NULL)
		return;
	erase(p);
	free(p);
}
