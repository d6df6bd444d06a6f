/*
 * test_evalcmd: the `eval` / `passwordeval` commands as a caller sees
 * them: the first line of the output without its end; one error line and
 * the right class for a non-zero exit, a signal, the deadline, too much
 * output, a signal of posthorn's, no way to start it; never the output
 * (a password) in an error; the command's standard error left on
 * posthorn's; a program named by a path held to the ownership rules.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "evalcmd.h"
#include "util/alloc.h"
#include "util/secmem.h"
#include "util/sig.h"
#include "t.h"

#define SECRET	"hunter2-s3cret"

static char top[] = "/tmp/posthorn-test-evalcmd-XXXXXX";

static void
rm_rf(const char *path)
{
	char *cmd = xasprintf("rm -rf '%s'", path);

	if (system(cmd) != 0)
		t_diag("could not remove %s", path);
	free(cmd);
}

static void
test_output(void)
{
	static const struct {
		const char *cmd, *want;
	} rows[] = {
		{ "echo " SECRET, SECRET },
		{ "printf '" SECRET "\\r\\nsecond line\\n'", SECRET },
		{ "printf 'no line end'", "no line end" },
		{ "printf '\\nsecond\\n'", "" },
		{ "true", "" },
		{ "printf 'a\\rb\\n'", "a\rb" },
	};
	struct err e;
	char *line;
	size_t i;
	int r;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		line = NULL;
		r = evalcmd_line(rows[i].cmd, 10, &line, &e);
		t_ok(r == 0 && line != NULL && strcmp(line, rows[i].want) == 0,
		    "eval %s: the first line, without its end: '%s'",
		    rows[i].cmd, line != NULL ? line : "(null)");
		if (line != NULL)
			wipe_free(line);
	}
}

/* A failure: -1, the class, one line, no output, no line given. */
static void
failed(const char *cmd, int timeout, int kind, const char *text)
{
	struct timespec t0, t1;
	struct err e;
	char *line = (char *)"unset";
	int r;

	err_clear(&e);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = evalcmd_line(cmd, timeout, &line, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t_ok(r == -1 && e.kind == (enum err_kind)kind && line == NULL &&
	    strstr(e.text, text) != NULL, "eval %s: %s", cmd, e.text);
	t_ok(strstr(e.text, SECRET) == NULL && strstr(e.text, "hunter") ==
	    NULL && strchr(e.text, '\n') == NULL, "... no output in the one "
	    "error line");
	t_ok(t1.tv_sec - t0.tv_sec < timeout + 5, "... within %d s (%ld)",
	    timeout + 5, (long)(t1.tv_sec - t0.tv_sec));
}

static void
test_failures(void)
{
	failed("echo " SECRET "; exit 3", 10, ERR_CONFIG,
	    "eval command failed with exit status 3");
	failed("/nonexistent/program-of-posthorn", 10, ERR_CONFIG,
	    "exit status 127 (command not found)");
	failed("/etc/passwd", 10, ERR_CONFIG,
	    "exit status 126 (command not executable)");
	failed("echo " SECRET "; kill -9 $$", 10, ERR_CONFIG,
	    "eval command was killed by signal 9");
	failed("echo " SECRET "; exec sleep 30", 1, ERR_CONFIG,
	    "eval command did not finish within 1 seconds (command_timeout); "
	    "it was killed");
	failed("while :; do echo " SECRET "; done", 10, ERR_CONFIG,
	    "eval command printed more than 65536 bytes");
	/* SIGTERM to posthorn while the command runs: a temporary failure,
	   the command killed. */
	sig_install();
	failed("echo " SECRET "; kill -TERM $PPID; exec sleep 30", 10,
	    ERR_TEMP, "interrupted while an eval command ran; it was killed");
	sig_caught = 0;
}

/* It cannot be started at all (no descriptor left): a software error. */
static void
test_cannot_run(void)
{
	struct rlimit rl, old;
	struct err e;
	char *line = NULL;
	int fill[64], n = 0, fd, r;

	getrlimit(RLIMIT_NOFILE, &old);
	rl = old;
	rl.rlim_cur = 16;
	setrlimit(RLIMIT_NOFILE, &rl);
	while (n < 64 && (fd = dup(0)) != -1)
		fill[n++] = fd;
	r = evalcmd_line("echo " SECRET, 10, &line, &e);
	while (n > 0)
		close(fill[--n]);
	setrlimit(RLIMIT_NOFILE, &old);
	t_ok(r == -1 && e.kind == ERR_SOFTWARE && line == NULL &&
	    strstr(e.text, "cannot run eval command: ") != NULL &&
	    strstr(e.text, strerror(EMFILE)) != NULL, "no descriptor left: %s",
	    e.text);
}

/* What the command writes to standard error is posthorn's, not output. */
static void
test_stderr(void)
{
	struct err e;
	char *path = xasprintf("%s/stderr", top), *line = NULL, got[256];
	int fd, saved;
	ssize_t n;

	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	t_ok(evalcmd_line("echo warning from the command >&2; echo pw", 10,
	    &line, &e) == 0 && line != NULL && strcmp(line, "pw") == 0,
	    "stderr: not taken as the output");
	dup2(saved, 2);
	close(saved);
	n = pread(fd, got, sizeof(got) - 1, 0);
	got[n > 0 ? n : 0] = '\0';
	close(fd);
	t_streq(got, "warning from the command\n", "stderr: posthorn's own");
	if (line != NULL)
		wipe_free(line);
	free(path);
}

/* A program named by a path must pass the configuration's rules. */
static void
test_program(void)
{
	struct err e;
	char *prog, *cmd, *line = NULL, *home;
	FILE *f;

	err_clear(&e);
	prog = xasprintf("%s/get pw", top);
	f = fopen(prog, "w");
	fputs("#!/bin/sh\necho " SECRET "\n", f);
	fclose(f);
	chmod(prog, 0777);
	cmd = xasprintf("  '%s' --account x", prog);
	t_ok(evalcmd_line(cmd, 10, &line, &e) == -1 && line == NULL &&
	    e.kind == ERR_CONFIG && strstr(e.text, "refusing eval program") !=
	    NULL && strstr(e.text, "anyone can write it") != NULL,
	    "a quoted path, after blanks, writable by anyone: refused: %s",
	    e.text);
	chmod(prog, 0700);
	t_ok(evalcmd_line(cmd, 10, &line, &e) == 0 && line != NULL &&
	    strcmp(line, SECRET) == 0, "the same program, 0700: it runs");
	if (line != NULL)
		wipe_free(line);
	line = NULL;
	free(cmd);
	t_inteq(evalcmd_check("\"/unterminated/quote", "passwordeval", &e), 0,
	    "an unterminated quote: left to the shell");
	t_inteq(evalcmd_check("cat /etc/hostname", "passwordeval", &e), 0,
	    "a program from $PATH: not checked");

	/* ~/ is the home directory. */
	free(prog);
	prog = xasprintf("%s/pw.sh", top);
	f = fopen(prog, "w");
	fputs("#!/bin/sh\necho " SECRET "\n", f);
	fclose(f);
	chmod(prog, 0757);
	home = getenv("HOME") != NULL ? xstrdup(getenv("HOME")) : NULL;
	setenv("HOME", top, 1);
	t_ok(evalcmd_check("~/pw.sh --x", "passwordeval", &e) == -1 &&
	    strstr(e.text, "refusing passwordeval program") != NULL &&
	    strstr(e.text, prog) != NULL, "~/ is $HOME: %s", e.text);
	setenv("HOME", "", 1);
	t_inteq(evalcmd_check("~/pw.sh --x", "passwordeval", &e), 0,
	    "~/ with an empty $HOME: not a path of ours (the shell's)");
	if (home != NULL) {
		setenv("HOME", home, 1);
		free(home);
	} else
		unsetenv("HOME");
	free(prog);
}

int
main(void)
{
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_output();
	test_stderr();
	test_program();
	test_cannot_run();
	test_failures();
	rm_rf(top);
	return t_done();
}
