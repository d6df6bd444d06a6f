/*
 * sig owns the process's signal dispositions and the one flag they set.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "util/sig.h"

volatile sig_atomic_t sig_caught;

static void
caught(int signo)
{
	sig_caught = signo;
}

void
sig_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = caught;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}
