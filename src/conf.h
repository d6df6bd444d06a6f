/*
 * conf: the configuration file in msmtp's syntax (an msmtprc works
 * unchanged for the keys both know), its accounts and their inheritance.
 *
 * Parsing is pure (conf_parse takes a buffer); conf_load adds the file
 * system: finding the file, the permission check for files that hold a
 * password, and the substitutions that need the environment (%U %H %C %M in
 * from and domain, ~ in paths).
 */
#ifndef POSTHORN_CONF_H
#define POSTHORN_CONF_H

#include <stddef.h>

#include "err.h"

struct buf;
struct err;

enum conf_setfrom { SETFROM_AUTO = 0, SETFROM_ON, SETFROM_OFF };
/* set_to_header (msmtp 1.8.33); undisclosed_recipients is its old form. */
enum conf_setto { SETTO_OFF = 0, SETTO_ON, SETTO_UNDISCLOSED };
enum conf_proto { PROTO_SMTP = 0, PROTO_LMTP };

/*
 * One account with every key resolved: defaults applied, parents
 * inherited.  Strings are owned by the account (NULL = not set).  `set`
 * has bit CONF_K_xxx for each key given explicitly, in a defaults
 * section, or inherited (see conf.c's key table for the numbering).
 */
/* One bit per key number of conf.c's key table. */
#define CONF_KEYS_MAX	128
struct conf_keyset {
	unsigned long long w[CONF_KEYS_MAX / 64];
};

struct account {
	char		*name;
	char		*file;		/* where it was defined */
	int		 line;
	struct conf_keyset set;

	char		*host;
	int		 port;		/* 0 = default: 465 with implicit TLS, else 25 */
	char		*from;		/* after %-substitution (conf_load);
					   "%F" stays, for msg to replace
					   by the From header's address */
	char		*from_full_name;
	char		*domain;	/* EHLO argument; NULL: conf_env_ehlo */

	int		 auth;		/* 0 off, 1 on */
	char		*auth_mech;	/* NULL = pick the best offered */
	char		*user;
	char		*password;	/* secret: wiped by conf_free */
	char		*passwordeval;	/* shell command printing the password */

	int		 tls;		/* default 1 (posthorn; msmtp says 0) */
	int		 tls_starttls;	/* default 1 */
	char		*tls_trust_file; /* NULL or "system" = system store,
					    "" = none (tls_trust_file with
					    an empty value) */
	char		*tls_crl_file;
	int		 tls_certcheck;	/* default 1 */
	unsigned char	 tls_fingerprint[32];
	size_t		 tls_fingerprint_len; /* 0 none, 20 SHA-1, 32 SHA-256 */
	char		*tls_cert_file;
	char		*tls_key_file;
	char		*tls_priorities;
	char		*tls_host_override;

	int		 timeout;	/* seconds; 0 = posthorn's per-stage defaults */
	char		*source_ip;
	char		*dsn_notify;	/* NULL, "never" or "success,failure,delay" subset */
	char		*dsn_return;	/* NULL, "full" or "headers" */

	char		*logfile;	/* "-" = standard output */
	char		*logfile_time_format;
	char		*syslog;	/* NULL = off, else a facility name ("LOG_MAIL") */
	char		*aliases;
	int		 set_from_header;	/* enum conf_setfrom */
	int		 set_date_header;	/* 1 auto (add if missing), 0 off */
	int		 remove_bcc_headers;	/* default 1 */
	int		 set_msgid_header;	/* 1 auto (add if missing),
						   0 off */
	int		 set_to_header;		/* enum conf_setto; off */
	int		 allow_from_override;	/* default 1 */

	int		 queue;		/* default 1 */
	int		 edit;		/* compose at a terminal in $VISUAL or
					   $EDITOR; default 0 */
	char		*record;	/* copies of sent mail; NULL none */
	char		*queue_dir;	/* NULL = default location (spool.c) */
	int		 queue_lifetime; /* seconds a message is retried; 5 days */
	int		 session_timeout; /* seconds a session may take (beyond
					     its data allowance); 0 = off */

	int		 scram_max_iterations; /* the most SCRAM iterations a
					    server may ask for; 100000 */
	int		 command_timeout; /* seconds a passwordeval (any command
					    posthorn runs) may take; 120,
					    0 = no limit */
	int		 password_in_file; /* the file had a password for this
					    account; conf_load wiped it, and
					    conf_password reads it again */
	int		 failed_lifetime; /* seconds failed/ keeps one; 30 days */
	int		 tls_min_dh_prime_bits; /* 0 = GnuTLS's default */
	int		 auto_from;	/* obsolete msmtp key: from
					   becomes %U@maildomain (or %U) */
	char		*maildomain;	/* obsolete, with auto_from */
	int		 lines[96];	/* per key number: the line of
					   file its value came from (through
					   defaults and parents too), or
					   CONF_FROM_DEFAULT, CONF_FROM_CLI,
					   CONF_FROM_ENV */

	/* Network paths (issue 12). */
	int		 protocol;	/* enum conf_proto */
	char		*socket;	/* a unix-domain socket instead of
					   host and port */
	char		*proxy_host;	/* SOCKS5 proxy; NULL none */
	int		 proxy_port;	/* 0: 1080 */
	char		*proxy_user;	/* RFC 1929 user; NULL: none */
	char		*proxy_password; /* secret: wiped by conf_free */
	char		*fallback;	/* account names, as written */
	struct account	**fallback_to;	/* resolved (fallback.c): accounts
					   of the same conf, not owned */
	size_t		 nfallback;

	/* OAuth2 (oauth.h): NULL / 0 = the provider's preset. */
	char		*oauth2_provider;	/* microsoft, google, generic */
	char		*oauth2_flow;		/* device, code,
						   client_credentials */
	char		*oauth2_client_id;
	char		*oauth2_client_secret;	/* secret: wiped */
	char		*oauth2_client_secret_eval; /* command printing it */
	char		*oauth2_tenant;
	char		*oauth2_scope;
	char		*oauth2_authorize_url;
	char		*oauth2_device_url;
	char		*oauth2_token_url;
	char		*oauth2_revoke_url;
	int		 oauth2_redirect_port;	/* 0: a random port */
	char		*oauth2_token_file;
	int		 queue_runner;	/* default 1: a runner retries (runner.c) */
	int		 queue_backoff;	/* seconds before the first retry; 60,
					   doubling to an hour (or to itself) */
	int		 bounce;	/* default 1: final failures reported
					   to the sender (bounce.c) */
	char		*bounce_to;	/* report them here instead; NULL */
	int		 persist;	/* seconds a holder keeps an idle
					   session (persist.c); 0 = off */
	int		 max_connections; /* sessions at once per account and
					    user while persist is on; 2 */
	char		*local_domains;	/* blank-separated, lower case; NULL:
					   the default (conf_local_domains) */
	char		*admin;		/* catch-all for local names, or NULL */
	/* The client certificate and key as read by a setgid run before it
	   dropped its group (privsep_preload), used instead of the files;
	   the key is wiped when freed.  NULL: read the files. */
	char		*tls_cert_pem;
	size_t		 tls_cert_pem_len;
	char		*tls_key_pem;
	size_t		 tls_key_pem_len;
	/* Why privsep_preload could not read this account's secret (one
	   line, no secret in it), or NULL: the account is then not used
	   (smtp_open fails with it), the others are. */
	char		*secret_error;
};

#define CONF_FROM_DEFAULT	0
#define CONF_FROM_CLI		(-1)
#define CONF_FROM_ENV		(-2)

/* The longest local_domains value, in octets. */
#define CONF_LOCAL_DOMAINS_MAX	4096

/* session_timeout's default: 20 minutes. */
#define CONF_SESSION_TIMEOUT	1200

struct conf {
	char		 *path;		/* file it came from, NULL if none */
	struct account	**accounts;	/* in file order, "defaults" excluded */
	size_t		  naccounts;
	int		  has_secret;	/* a password line was seen */
	char		**notes;	/* one-line notes for stderr
					   (obsolete keys), "FILE:LINE: .." */
	size_t		  nnotes;
};

/*
 * Runs the command of an `eval` line and gives the first line of its
 * output in *line (malloc'd, the caller wipe_frees it).  0 or -1 with e
 * filled.  conf_parse is pure: it runs nothing itself.
 */
typedef int (*conf_eval_fn)(const char *cmd, int timeout, char **line,
    struct err *e);

/*
 * What %-substitutions and ~ expand to; filled by conf_env_init.  canon
 * and mailname need a DNS lookup, so they are found the first time
 * conf_env_canon or conf_env_mailname asks (a dead resolver then costs
 * nothing unless %C, %M or a domain-less account needs them).
 */
struct conf_env {
	const char	*user;		/* %U */
	const char	*host;		/* %H */
	const char	*canon;		/* %C (canonical host name); lazy */
	const char	*mailname;	/* %M (/etc/mailname); lazy */
	const char	*home;		/* ~ */
	int		 looked_up;	/* canon and mailname are filled */
};

/*
 * Parses a whole configuration file held in buf.  filename is used in
 * messages ("FILE:LINE: unknown key 'x'").  No I/O, no substitutions.
 * 0 on success; -1 with ERR_CONFIG filled.  On failure c is left empty.
 */
int	 conf_parse(struct conf *c, const char *buf, size_t len,
	    const char *filename, struct err *e);
/*
 * The same with `eval` lines run through eval (conf_parse refuses them).
 * The line a command prints is parsed in place of the eval line; it may
 * not be an eval, defaults or account line.
 */
int	 conf_parse_eval(struct conf *c, const char *buf, size_t len,
	    const char *filename, conf_eval_fn eval, struct err *e);

/*
 * Applies %U %H %C %M (in from and domain) and ~ (in paths) to every
 * account; -1 with ERR_CONFIG for a malformed % sequence.
 */
int	 conf_subst(struct conf *c, struct conf_env *env, struct err *e);

/*
 * Fills env from the process (getpwuid, gethostname); strings live until
 * conf_env_release.  conf_env_canon and conf_env_mailname look up the
 * canonical name (getaddrinfo) and /etc/mailname on first use.
 */
void	 conf_env_init(struct conf_env *env);
const char *conf_env_canon(struct conf_env *env);
const char *conf_env_mailname(struct conf_env *env);
/*
 * The EHLO name of an account without domain: the mail name (first line
 * of /etc/mailname, else the canonical name) when it is a dotted host
 * name, else the canonical host name when it is, else "localhost".
 * Never NULL; the string lives as long as env (or is static).
 */
const char *conf_env_ehlo(struct conf_env *env);
void	 conf_env_release(struct conf_env *env);

/*
 * The domains whose addresses are local names (user@localhost is user):
 * the account's local_domains, else localhost, localhost.localdomain,
 * the host name and its canonical name.  Not /etc/mailname: on Debian it
 * names the mail domain, whose addresses are other people's, not this
 * host's.  Appends lower-case names to out, each once.  The canonical
 * name needs a DNS lookup: it is in out only when it was looked up
 * already; conf_local_fqdn finds it when an address needs it.
 */
struct strv;
void	 conf_local_domains(const struct account *a, struct conf_env *env,
	    struct strv *out);
/*
 * 1 if domain (n octets) is the host's canonical name and a has no
 * local_domains: looked up only for a domain that starts with the host
 * name and a dot, and only when conf_local_domains could not list it.
 */
int	 conf_local_fqdn(const struct account *a, struct conf_env *env,
	    const char *domain, size_t n);

/*
 * Finds the file to read: cli_path if given, else $POSTHORN_CONFIG, else
 * ${XDG_CONFIG_HOME:-~/.config}/posthorn/config, ~/.posthornrc,
 * SYSTEM_CONFIG (/etc/posthorn.conf) (the first that exists).  Returns a malloc'd path, or
 * NULL with *found = 0 when none exists (not an error: --host may be
 * enough).  A cli_path that does not exist is ERR_NOINPUT, a
 * $POSTHORN_CONFIG that does not exist ERR_CONFIG; both return NULL with
 * e filled and *found = -1.
 */
char	*conf_find(const char *cli_path, int *found, struct err *e);
/* The system file conf_find falls back to: SYSTEM_CONFIG as the library
   was built, set by main to the one it was built with (a test binary's
   differs). */
extern const char *conf_system_path;

/*
 * Reads, checks and parses path, then substitutes with env.  Refused
 * (ERR_CONFIG, naming the reason): a file that is not a regular file
 * (a FIFO is not waited on), that belongs to another user than the
 * effective one or root, that group (unless it is the owner's own group)
 * or others can write, or that holds a password and group or others can
 * read.  The same checks apply to an `aliases` file and to a passwordeval
 * command's program when it is named by a path (conf_check_file).  An
 * unreadable file is ERR_CONFIG (ERR_NOINPUT when from_cli).  Passwords
 * are wiped once parsed (see conf_password); the process is made
 * non-dumpable first (secmem_protect), since the file may hold one.
 * 0 or -1.
 */
int	 conf_load(struct conf *c, const char *path, int from_cli,
	    struct conf_env *env, struct err *e);

/*
 * The ownership and mode rules of conf_load for a file posthorn reads or
 * runs on the configuration's word: st is its fstat (or stat); what names
 * it in the message ("aliases file"), path too.  0, or -1 with ERR_CONFIG
 * and the reason.
 */
struct stat;
int	 conf_check_file(const struct stat *st, const char *what,
	    const char *path, struct err *e);

/*
 * Reads the whole of such a file into b: opened without waiting on a
 * FIFO, checked with conf_check_file on what was opened (whatever a
 * symbolic link on the way pointed to), at most max bytes.  b is
 * initialised here with room for max bytes and a terminating NUL, in
 * locked, wiped memory when secret.  st receives the file's status.
 * 0, or -1: "cannot read WHAT 'PATH': reason" with kind (a directory
 * too), "WHAT 'PATH' is larger than MAX bytes" with ERR_CONFIG, or the
 * refusal of conf_check_file; b is then released.
 */
int	 conf_read_file(const char *path, const char *what, size_t max,
	    int secret, enum err_kind kind, struct buf *b, struct stat *st,
	    struct err *e);

/*
 * Merges the system file's accounts into the user file's, as msmtp does:
 * an account of the same name in user wins; the system's others come
 * first, in their order, then the user's (so the first account whose
 * from matches is the system's when both match).  sys is left empty.
 */
void	 conf_merge(struct conf *user, struct conf *sys);
/* Where posthorn looks for its configuration, for --version: a malloc'd
   text of lines without a final newline. */
char	*conf_describe_paths(void);

/* The account named name, or NULL. */
struct account *conf_account(const struct conf *c, const char *name);
/*
 * The account for envelope sender addr as msmtp picks it: the first whose
 * from equals addr (ASCII case-insensitive), else whose from pattern
 * (shell wildcards) matches addr, else whose from matches addr with a
 * "+tag" removed from its local part.  NULL when none does.
 */
struct account *conf_account_for_from(const struct conf *c, const char *addr);

/*
 * The i-th key that is also a command-line option (--NAME, with dashes
 * for underscores), or NULL past the last; *optional is 1 for an on/off
 * key, whose value may be left out (meaning on).
 */
const char *conf_keyopt(size_t i, int *optional);
/*
 * Sets key (one conf_keyopt names) on a as a file line would, with the
 * substitutions; what names it in errors ("--tls-trust-file").
 * 0, or -1 with ERR_USAGE (a bad value) or ERR_CONFIG (a substitution).
 */
int	 conf_account_set(struct account *a, const char *key,
	    const char *value, const char *what, struct conf_env *env,
	    struct err *e);

/* Records that key's value in a came from where (CONF_FROM_CLI, ...). */
void	 conf_account_origin(struct account *a, const char *key, int where);
/*
 * The effective configuration of a, one key a line: its value (a secret
 * as ***), and where it came from ("FILE:LINE", "default", "command
 * line", "environment"), for --pretend.  Appends to out.
 */
void	 conf_describe(const struct account *a, struct buf *out);

/* A fresh account with posthorn's defaults (for --host without a file). */
struct account *conf_account_new(const char *name);
/* Deep copy. */
struct account *conf_account_dup(const struct account *a);
void	 conf_account_free(struct account *a);
/* Frees everything, wiping passwords. */
void	 conf_free(struct conf *c);

/* 1 when from holds %F (the From header's address; %% is a percent). */
int	 conf_from_has_f(const char *from);
/* from with %F replaced by addr and %% by %; malloc'd. */
char	*conf_from_expand(const char *from, const char *addr);

/*
 * Default port for an account: port if set, 2003 for LMTP (msmtp's
 * default), 465 implicit TLS, else 25.
 */
int	 conf_port(const struct account *a);

/*
 * The password the account's file holds for it (account->password_in_file),
 * read again now, with the same checks as conf_load, and wiped from
 * everything but *pw (the caller wipe_frees it).  So a password sits in
 * memory only while AUTH needs it, not for the whole run.  ERR_CONFIG when
 * the file can no longer be read or no longer holds it.  0 or -1.
 */
int	 conf_password(const struct account *a, char **pw, struct err *e);

/*
 * Parses a tls_fingerprint value ("AB:CD:..", SHA-256 or SHA-1) into out;
 * returns its length (32 or 20) or -1.
 */
int	 conf_parse_fingerprint(const char *s, unsigned char out[32]);

#endif
