/*
 * sig owns the process's signal dispositions and the one flag they set.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "util/sig.h"

volatile sig_atomic_t sig_caught;
int sig_fd = -1;
static int sig_wfd = -1;

static void
caught(int signo)
{
	int saved = errno;

	sig_caught = signo;
	if (sig_wfd != -1)
		(void)!write(sig_wfd, "", 1);
	errno = saved;
}

void
sig_install(void)
{
	struct sigaction sa;

	int p[2];

	if (sig_fd == -1 && pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
		sig_fd = p[0];
		sig_wfd = p[1];
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = caught;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
