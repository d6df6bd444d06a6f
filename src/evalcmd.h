/*
 * evalcmd: the commands a configuration names (passwordeval, eval), run
 * under one set of trust rules: a program named by a path must pass the
 * configuration file's ownership rules (conf_check_file), and the command
 * runs through util/proc (own process group, /dev/null input, deadline,
 * signals end the wait).
 */
#ifndef POSTHORN_EVALCMD_H
#define POSTHORN_EVALCMD_H

struct err;

/*
 * Checks the program of cmd when its first word is a path ("~/" is the
 * home directory); what names the command in messages ("passwordeval").
 * 0, or -1 with ERR_CONFIG.  A program found through $PATH is not
 * checked, as for passwordeval.
 */
int	 evalcmd_check(const char *cmd, const char *what, struct err *e);

/*
 * Runs an `eval` line's command (checked as above) and gives the first
 * line of its output, without its line end, in *line (malloc'd in secret
 * memory: the caller wipe_frees it).  timeout in seconds, 0 for none.
 * Errors name the command by what only, never its output.  0 or -1.
 */
int	 evalcmd_line(const char *cmd, int timeout, char **line,
	    struct err *e);

#endif
