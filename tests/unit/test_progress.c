/*
 * test_progress: the progress line's text, and that it stays silent when
 * it should: on a pipe, and for a small message.
 */
#include "config.h"

#include <unistd.h>

#include "progress.h"
#include "t.h"

static void
test_format(void)
{
	static const struct {
		off_t		 done, total;
		double		 secs;
		const char	*want;
	} t[] = {
		{ 0, 100 << 20, 0, "  0 B of 100.0 MiB  0 B/s  --:-- left" },
		{ 50 << 20, 100 << 20, 1.0,
		    "  50.0 MiB of 100.0 MiB  50.0 MiB/s  0:01 left" },
		{ 10 << 20, 1 << 30, 2.0,
		    "  10.0 MiB of 1.0 GiB  5.0 MiB/s  3:23 left" },
		{ 1 << 20, (off_t)40 << 30, 1.0,
		    "  1.0 MiB of 40.0 GiB  1.0 MiB/s  11:22:39 left" },
		{ 100 << 20, 100 << 20, 4.0,
		    "  100.0 MiB of 100.0 MiB  25.0 MiB/s  --:-- left" },
		{ 512, 5 << 20, 0.5, "  512 B of 5.0 MiB  1.0 KiB/s  1:25:20 left" },
	};
	char out[128];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		progress_format(out, sizeof(out), t[i].done, t[i].total,
		    t[i].secs);
		t_streq(out, t[i].want, "progress line %zu", i);
	}
}

static void
test_quiet(void)
{
	struct progress *p;
	int fds[2];

	t_ok(pipe(fds) == 0, "pipe");
	p = progress_new(fds[1], (off_t)1 << 30);
	t_ok(p == NULL, "no progress line on a pipe");
	progress_update(p, 1 << 20);
	progress_done(p);
	p = progress_new(fds[1], PROGRESS_MIN - 1);
	t_ok(p == NULL, "no progress line for a small message");
	close(fds[0]);
	close(fds[1]);
}

int
main(void)
{
	test_format();
	test_quiet();
	return t_done();
}
