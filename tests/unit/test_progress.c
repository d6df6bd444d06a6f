/*
 * test_progress: the status line's texts (byte count and waits), that it
 * stays silent when it should (on a pipe, for a small message), and what
 * it writes to a terminal (a pseudo-terminal here).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
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
test_wait_format(void)
{
	static const struct {
		const char	*what;
		long long	 waited;
		int		 limit;
		size_t		 outsz;
		int		 rv;
		const char	*want;
	} t[] = {
		{ "for the reply to DATA", 40000, 300, 128, 0,
		    "waiting for the reply to DATA, 40 s of 300" },
		{ "for the greeting", 1999, 0, 128, 0,
		    "waiting for the greeting, 1 s" },
		{ "to send the message data", 61500, 1380, 128, 0,
		    "waiting to send the message data, 61 s of 1380" },
		/* Exactly the text and its NUL: fits. */
		{ "for x", 2000, 9, 24, 0, "waiting for x, 2 s of 9" },
		/* One byte short: refused whole, never cut. */
		{ "for x", 2000, 9, 23, -1, "" },
	};
	char out[128];
	size_t i;
	int rv;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rv = progress_format_wait(out, t[i].outsz, t[i].what,
		    t[i].waited, t[i].limit);
		t_inteq(rv, t[i].rv, "wait line %zu: result", i);
		t_streq(out, t[i].want, "wait line %zu: text", i);
	}
}

static void
test_quiet(void)
{
	struct progress *p;
	int fds[2];

	t_ok(pipe(fds) == 0, "pipe");
	p = progress_new(fds[1]);
	t_ok(p == NULL, "no status line on a pipe");
	progress_start(p, (off_t)1 << 30);
	progress_update(p, 1 << 20);
	progress_wait(p, "for the greeting", 5000, 300);
	progress_end(p);
	progress_free(p);
	close(fds[0]);
	close(fds[1]);
}

/* What the terminal got so far (nothing waits: the writes are done). */
static size_t
drain(int master, char *out, size_t n)
{
	struct pollfd pfd = { master, POLLIN, 0 };
	size_t got = 0;
	ssize_t r;

	while (got + 1 < n && poll(&pfd, 1, 0) == 1) {
		r = read(master, out + got, n - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	out[got] = '\0';
	return got;
}

static void
test_terminal(void)
{
	struct progress *p;
	char out[512], want[512];
	int master, slave;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master == -1 || grantpt(master) == -1 || unlockpt(master) == -1 ||
	    (slave = open(ptsname(master), O_RDWR | O_NOCTTY)) == -1) {
		t_ok(1, "# SKIP no pseudo-terminal: %s", strerror(errno));
		return;
	}
	p = progress_new(slave);
	t_ok(p != NULL, "a status line on a terminal");

	progress_start(p, PROGRESS_MIN - 1);
	progress_update(p, 1);
	progress_end(p);
	t_inteq(drain(master, out, sizeof(out)), 0,
	    "no byte count for a small message");

	progress_wait(p, "for the reply to DATA", 40000, 300);
	drain(master, out, sizeof(out));
	t_streq(out, "\rwaiting for the reply to DATA, 40 s of 300",
	    "a long wait is shown");
	progress_wait(p, "for the reply to DATA", 1500, 0);
	drain(master, out, sizeof(out));
	snprintf(want, sizeof(want), "\r%s%*s",
	    "waiting for the reply to DATA, 1 s",
	    (int)(strlen("waiting for the reply to DATA, 40 s of 300") -
	    strlen("waiting for the reply to DATA, 1 s")), "");
	t_streq(out, want, "a shorter line overwrites a longer one");
	progress_wait(p, NULL, 0, 0);
	drain(master, out, sizeof(out));
	snprintf(want, sizeof(want), "\r%*s\r",
	    (int)strlen("waiting for the reply to DATA, 40 s of 300"), "");
	t_streq(out, want, "the line is erased when the wait ends");
	progress_free(p);
	t_inteq(drain(master, out, sizeof(out)), 0,
	    "nothing more to erase at the end");
	close(slave);
	close(master);
}

int
main(void)
{
	test_format();
	test_wait_format();
	test_quiet();
	test_terminal();
	return t_done();
}
