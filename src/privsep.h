/*
 * privsep: the setgid path that lets any local user send through the
 * system account without being able to read its secret.
 *
 * Installed setgid to a dedicated group (Debian: root:posthorn 2755, and
 * /etc/posthorn.conf root:posthorn 0640), posthorn starts with the
 * group's rights and puts them away at once (privsep_start): from then on
 * it runs with the caller's real group, the group kept only as the saved
 * set-group-ID.  The group is taken back for one window only: reading the
 * system configuration and the secrets it names (privsep_raise ...
 * privsep_drop), and only when nothing on the command line or in the
 * environment chose another configuration or another server.  Then the
 * group is dropped for good (real, effective and saved), before any file
 * the caller names is opened, before the message is read, before the
 * queue is touched and before any connection.
 */
#ifndef POSTHORN_PRIVSEP_H
#define POSTHORN_PRIVSEP_H

/*
 * First thing in main.  When the process runs setgid (effective group
 * other than the real one): makes it non-dumpable (no ptrace attach, no
 * /proc/PID/mem or environ for the caller, no core), removes environment
 * variables that could make a library write secrets or load code
 * (SSLKEYLOGFILE, GNUTLS_*, LD_*, ...), and switches the effective group
 * to the real one, keeping the group as the saved one.  A setuid install
 * (effective user other than the real one) is not supported: the user
 * is dropped for good here.  Exits 70 when the kernel refuses a change.
 */
void	 privsep_start(void);

/* 1 while the group can still be taken back (setgid, not dropped). */
int	 privsep_held(void);

/*
 * Takes the group back for reading the system configuration, and gives
 * the process a minimal environment (PATH=/usr/bin:/bin, HOME=/) while it
 * holds it, so that a passwordeval command the configuration names runs
 * in a clean one.  Only while privsep_held.
 */
void	 privsep_raise(void);

/*
 * Drops the group for good (setresgid to the real group, checked) and
 * gives back the caller's environment.  Safe to call more than once and
 * when not setgid.  Exits 70 when the group cannot be dropped.
 */
void	 privsep_drop(void);

/* 1 while raised and gid is the privileged group: the system
   configuration may be readable by that group alone and hold a password. */
#include <sys/types.h>
int	 privsep_raised_group(gid_t gid);

/*
 * While raised, after the system configuration is loaded: reads every
 * account's secret into memory (the password its file holds, the output
 * of its passwordeval, run now with the group's rights and the minimal
 * environment, for accounts with auth; the client certificate and key of
 * tls_cert_file and tls_key_file), so that nothing needs the group once
 * it is dropped.  An account whose secret cannot be read keeps the
 * reason (naming the account and the file) in its secret_error and is
 * not used; the other accounts are.
 */
struct conf;
void	 privsep_preload(struct conf *c);

/*
 * For an account of a configuration read with the group's rights
 * (privsep_used) whose server or identity the caller changed (--host and
 * the like, or a queued envelope that records them): forgets its secret,
 * so that it can only go to the server the system configuration names.
 */
struct account;
void	 privsep_forget_secret(struct account *a);

/* 1 if the configuration was read with the group's rights this run (its
   secrets must not go to a server the caller names). */
int	 privsep_used(void);

#endif
