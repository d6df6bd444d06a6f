/*
 * evalcmd owns running the commands a configuration file names: finding
 * the program a command starts with, holding it to the ownership rules of
 * the file that named it, and reading what it prints within a cap.  The
 * process handling itself is util/proc's.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"
#include "evalcmd.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/proc.h"
#include "util/secmem.h"
#include "util/sig.h"

#define EVALCMD_OUT_MAX	(64 * 1024)	/* bytes an eval command prints */

/*
 * The program of cmd when it is named by a path (its first word holds a
 * "/"; "~/" is the home directory), else NULL.  Only a plain or fully
 * quoted first word is understood; the shell does the rest.
 */
static char *
evalcmd_program(const char *cmd)
{
	const char *p = cmd, *end, *home;
	char *word, *path;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '"' || *p == '\'') {
		if ((end = strchr(p + 1, *p)) == NULL)
			return NULL;
		word = xstrndup(p + 1, (size_t)(end - p - 1));
	} else
		word = xstrndup(p, strcspn(p, " \t;&|<>()$`\\\"'"));
	if (strchr(word, '/') == NULL) {
		free(word);
		return NULL;
	}
	if (word[0] == '~' && word[1] == '/' &&
	    (home = getenv("HOME")) != NULL && *home != '\0') {
		path = xasprintf("%s%s", home, word + 1);
		free(word);
		return path;
	}
	return word;
}

int
evalcmd_check(const char *cmd, const char *what, struct err *e)
{
	struct stat st;
	char *prog, *label;
	int r = 0;

	if ((prog = evalcmd_program(cmd)) == NULL)
		return 0;
	if (stat(prog, &st) == 0) {
		label = xasprintf("%s program", what);
		r = conf_check_file(&st, label, prog, e);
		free(label);
	}
	free(prog);
	return r;
}

int
evalcmd_line(const char *cmd, int timeout, char **line, struct err *e)
{
	struct buf out;
	size_t n;
	int status, saved;

	*line = NULL;
	if (evalcmd_check(cmd, "eval", e) == -1)
		return -1;
	/* The output may be a password line: secret memory. */
	buf_init_secret(&out, EVALCMD_OUT_MAX);
	if (proc_run(cmd, timeout, &out, &status) == -1) {
		saved = errno;
		buf_release(&out);
		if (saved == ETIMEDOUT)
			return err_set(e, ERR_CONFIG, "eval command did not "
			    "finish within %d seconds (command_timeout); it "
			    "was killed", timeout);
		if (saved == EINTR)
			return err_set(e, ERR_TEMP, "interrupted while an eval "
			    "command ran; it was killed");
		if (saved == EFBIG)
			return err_set(e, ERR_CONFIG, "eval command printed "
			    "more than %d bytes", EVALCMD_OUT_MAX);
		return err_set(e, ERR_SOFTWARE, "cannot run eval command: %s",
		    strerror(saved));
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		buf_release(&out);
		/* The shell's own statuses: its line on stderr says more. */
		if (WIFEXITED(status))
			return err_set(e, ERR_CONFIG, "eval command failed "
			    "with exit status %d%s", WEXITSTATUS(status),
			    WEXITSTATUS(status) == 127 ? " (command not found)" :
			    WEXITSTATUS(status) == 126 ? " (command not "
			    "executable)" : "");
		return err_set(e, sig_caught ? ERR_TEMP : ERR_CONFIG,
		    "eval command was killed by signal %d", WTERMSIG(status));
	}
	/* The first line, as msmtp takes it. */
	n = 0;
	while (n < out.len && out.data[n] != '\n')
		n++;
	if (n > 0 && out.data[n - 1] == '\r')
		n--;
	if (n < out.len)
		wipe(out.data + n, out.len - n);
	buf_truncate(&out, n);
	*line = buf_detach(&out);
	if (*line == NULL)
		*line = xstrdup("");
	return 0;
}
