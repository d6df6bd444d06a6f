/*
 * conf owns the configuration file: finding it, reading it within fixed
 * caps, refusing a file that holds a password others can read, parsing
 * msmtp's line syntax through one key table (name, kind, parser, secret),
 * the defaults sections and the inheritance of `account NAME : PARENT,..`,
 * the %U %H %C %M and ~ substitutions, and the choice of an account for an
 * envelope sender.  conf_parse is pure: no I/O and no state outside its
 * arguments, so the fuzz target and the unit test drive it with a buffer.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "conf.h"
#include "err.h"
#include "evalcmd.h"
#include "fallback.h"
#include "privsep.h"
#include "util/alloc.h"
#include "util/strv.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/secmem.h"
#include "util/str.h"

#ifndef SYSTEM_CONFIG
#define SYSTEM_CONFIG	"/etc/posthorn.conf"
#endif

#define CONF_LINE_MAX	(64 * 1024)	/* bytes in one line */
#define CONF_FILE_MAX	(1024 * 1024)	/* bytes in the file */
#define CONF_ACCOUNTS_MAX 1000
#define CONF_COPY_MAX	(64 * 1024 * 1024) /* bytes copied by inheritance */
#define CONF_SUBST_MAX	(256 * 1024)	/* a value after substitution */
#define CONF_SHOW	80		/* bytes of a bad value quoted back */
#define CONF_TIMEOUT_MAX (INT_MAX / 1000) /* seconds; fits in ms */
#define CONF_MECH_MAX	20		/* RFC 4422 mechanism name */
#define CONF_SCRAM_ITER_DEFAULT	100000	/* RFC 7677 asks for 4096 at least */
#define CONF_COMMAND_TIMEOUT	120	/* seconds; a person may type a
					   passphrase meanwhile */

/*
 * Key numbers: bit (1ULL << CONF_K_xxx) of struct account's set.  Old
 * spellings (tls_nocertcheck, add_missing_from_header, ...) share the
 * number of the key they stand for.
 */
enum conf_k {
	CONF_K_HOST,
	CONF_K_PORT,
	CONF_K_FROM,
	CONF_K_FROM_FULL_NAME,
	CONF_K_DOMAIN,
	CONF_K_AUTH,
	CONF_K_USER,
	CONF_K_PASSWORD,
	CONF_K_PASSWORDEVAL,
	CONF_K_TLS,
	CONF_K_TLS_STARTTLS,
	CONF_K_TLS_TRUST_FILE,
	CONF_K_TLS_CRL_FILE,
	CONF_K_TLS_CERTCHECK,
	CONF_K_TLS_FINGERPRINT,
	CONF_K_TLS_CERT_FILE,
	CONF_K_TLS_KEY_FILE,
	CONF_K_TLS_PRIORITIES,
	CONF_K_TLS_HOST_OVERRIDE,
	CONF_K_TIMEOUT,
	CONF_K_SOURCE_IP,
	CONF_K_DSN_NOTIFY,
	CONF_K_DSN_RETURN,
	CONF_K_LOGFILE,
	CONF_K_LOGFILE_TIME_FORMAT,
	CONF_K_SYSLOG,
	CONF_K_ALIASES,
	CONF_K_SET_FROM_HEADER,
	CONF_K_SET_DATE_HEADER,
	CONF_K_REMOVE_BCC_HEADERS,
	CONF_K_SET_TO_HEADER,
	CONF_K_ALLOW_FROM_OVERRIDE,
	CONF_K_QUEUE,
	CONF_K_QUEUE_DIR,
	CONF_K_QUEUE_LIFETIME,
	CONF_K_PROTOCOL,
	CONF_K_SESSION_TIMEOUT,
	CONF_K_SCRAM_MAX_ITERATIONS,
	CONF_K_COMMAND_TIMEOUT,
	CONF_K_FAILED_LIFETIME,
	CONF_K_SET_MSGID_HEADER,
	CONF_K_TLS_MIN_DH_PRIME_BITS,
	CONF_K_AUTO_FROM,
	CONF_K_MAILDOMAIN,
	CONF_K_PROXY_HOST,
	CONF_K_PROXY_PORT,
	CONF_K_PROXY_USER,
	CONF_K_PROXY_PASSWORD,
	CONF_K_SOCKET,
	CONF_K_FALLBACK,
	CONF_K_OAUTH2_PROVIDER,
	CONF_K_OAUTH2_FLOW,
	CONF_K_OAUTH2_CLIENT_ID,
	CONF_K_OAUTH2_CLIENT_SECRET,
	CONF_K_OAUTH2_CLIENT_SECRET_EVAL,
	CONF_K_OAUTH2_TENANT,
	CONF_K_OAUTH2_SCOPE,
	CONF_K_OAUTH2_AUTHORIZE_URL,
	CONF_K_OAUTH2_DEVICE_URL,
	CONF_K_OAUTH2_TOKEN_URL,
	CONF_K_OAUTH2_REVOKE_URL,
	CONF_K_OAUTH2_REDIRECT_PORT,
	CONF_K_OAUTH2_TOKEN_FILE,
	CONF_K_QUEUE_RUNNER,
	CONF_K_QUEUE_BACKOFF,
	CONF_K_BOUNCE,
	CONF_K_BOUNCE_TO,
	CONF_K_EDIT,
	CONF_K_RECORD,
	CONF_K_PERSIST,
	CONF_K_MAX_CONNECTIONS,
	CONF_K_LOCAL_DOMAINS,
	CONF_K_ADMIN,
	CONF_K_MAX,
	CONF_K_NONE = -1		/* defaults, account, unsupported */
};

#define KS_ADD(ks, id)	((ks)->w[(id) / 64] |= 1ULL << ((id) % 64))
#define KS_HAS(ks, id)	(((ks)->w[(id) / 64] >> ((id) % 64)) & 1)
/* One more bit than the keys: conf_k_obsolete's for keys without one. */
_Static_assert(CONF_K_MAX < CONF_KEYS_MAX, "struct conf_keyset holds "
    "every key");

/*
 * Where each key's value lives in struct account and how it is copied,
 * freed and substituted.  Indexed by key number.
 */
enum conf_ftype {
	FT_NONE,		/* checked, nothing stored */
	FT_STR,			/* char * */
	FT_INT,			/* int */
	FT_AUTH,		/* auth and auth_mech */
	FT_FPR			/* tls_fingerprint and its length */
};

enum conf_sub {
	SUB_NONE,
	SUB_PCT,		/* %U %H %C %M %% */
	SUB_TILDE		/* leading ~ or ~/ */
};

struct conf_field {
	enum conf_ftype	 type;
	size_t		 off;
	enum conf_sub	 sub;
	int		 secret;	/* wiped when freed */
};

#define F(t, m, s, x)	{ (t), offsetof(struct account, m), (s), (x) }

_Static_assert(CONF_K_MAX <= sizeof(((struct account *)0)->lines) /
    sizeof(int), "struct account's lines[] holds every key");

static const struct conf_field conf_fields[CONF_K_MAX] = {
	[CONF_K_HOST] =		F(FT_STR, host, SUB_NONE, 0),
	[CONF_K_PORT] =		F(FT_INT, port, SUB_NONE, 0),
	[CONF_K_FROM] =		F(FT_STR, from, SUB_PCT, 0),
	[CONF_K_FROM_FULL_NAME] = F(FT_STR, from_full_name, SUB_NONE, 0),
	[CONF_K_DOMAIN] =	F(FT_STR, domain, SUB_PCT, 0),
	[CONF_K_AUTH] =		F(FT_AUTH, auth, SUB_NONE, 0),
	[CONF_K_USER] =		F(FT_STR, user, SUB_NONE, 0),
	[CONF_K_PASSWORD] =	F(FT_STR, password, SUB_NONE, 1),
	[CONF_K_PASSWORDEVAL] =	F(FT_STR, passwordeval, SUB_NONE, 0),
	[CONF_K_TLS] =		F(FT_INT, tls, SUB_NONE, 0),
	[CONF_K_TLS_STARTTLS] =	F(FT_INT, tls_starttls, SUB_NONE, 0),
	[CONF_K_TLS_TRUST_FILE] = F(FT_STR, tls_trust_file, SUB_TILDE, 0),
	[CONF_K_TLS_CRL_FILE] =	F(FT_STR, tls_crl_file, SUB_TILDE, 0),
	[CONF_K_TLS_CERTCHECK] = F(FT_INT, tls_certcheck, SUB_NONE, 0),
	[CONF_K_TLS_FINGERPRINT] = F(FT_FPR, tls_fingerprint, SUB_NONE, 0),
	[CONF_K_TLS_CERT_FILE] = F(FT_STR, tls_cert_file, SUB_TILDE, 0),
	[CONF_K_TLS_KEY_FILE] =	F(FT_STR, tls_key_file, SUB_TILDE, 0),
	[CONF_K_TLS_PRIORITIES] = F(FT_STR, tls_priorities, SUB_NONE, 0),
	[CONF_K_TLS_HOST_OVERRIDE] =
	    F(FT_STR, tls_host_override, SUB_NONE, 0),
	[CONF_K_TIMEOUT] =	F(FT_INT, timeout, SUB_NONE, 0),
	[CONF_K_SOURCE_IP] =	F(FT_STR, source_ip, SUB_NONE, 0),
	[CONF_K_DSN_NOTIFY] =	F(FT_STR, dsn_notify, SUB_NONE, 0),
	[CONF_K_DSN_RETURN] =	F(FT_STR, dsn_return, SUB_NONE, 0),
	[CONF_K_LOGFILE] =	F(FT_STR, logfile, SUB_TILDE, 0),
	[CONF_K_LOGFILE_TIME_FORMAT] =
	    F(FT_STR, logfile_time_format, SUB_NONE, 0),
	[CONF_K_SYSLOG] =	F(FT_STR, syslog, SUB_NONE, 0),
	[CONF_K_ALIASES] =	F(FT_STR, aliases, SUB_TILDE, 0),
	[CONF_K_SET_FROM_HEADER] = F(FT_INT, set_from_header, SUB_NONE, 0),
	[CONF_K_SET_DATE_HEADER] = F(FT_INT, set_date_header, SUB_NONE, 0),
	[CONF_K_REMOVE_BCC_HEADERS] =
	    F(FT_INT, remove_bcc_headers, SUB_NONE, 0),
	[CONF_K_SET_TO_HEADER] = F(FT_INT, set_to_header, SUB_NONE, 0),
	[CONF_K_ALLOW_FROM_OVERRIDE] =
	    F(FT_INT, allow_from_override, SUB_NONE, 0),
	[CONF_K_QUEUE] =	F(FT_INT, queue, SUB_NONE, 0),
	[CONF_K_EDIT] =		F(FT_INT, edit, SUB_NONE, 0),
	[CONF_K_RECORD] =	F(FT_STR, record, SUB_TILDE, 0),
	[CONF_K_QUEUE_DIR] =	F(FT_STR, queue_dir, SUB_TILDE, 0),
	[CONF_K_QUEUE_LIFETIME] = F(FT_INT, queue_lifetime, SUB_NONE, 0),
	[CONF_K_PROTOCOL] =	F(FT_INT, protocol, SUB_NONE, 0),
	[CONF_K_SESSION_TIMEOUT] =
	    F(FT_INT, session_timeout, SUB_NONE, 0),
	[CONF_K_SCRAM_MAX_ITERATIONS] =
	    F(FT_INT, scram_max_iterations, SUB_NONE, 0),
	[CONF_K_COMMAND_TIMEOUT] = F(FT_INT, command_timeout, SUB_NONE, 0),
	[CONF_K_FAILED_LIFETIME] = F(FT_INT, failed_lifetime, SUB_NONE, 0),
	[CONF_K_SET_MSGID_HEADER] =
	    F(FT_INT, set_msgid_header, SUB_NONE, 0),
	[CONF_K_TLS_MIN_DH_PRIME_BITS] =
	    F(FT_INT, tls_min_dh_prime_bits, SUB_NONE, 0),
	[CONF_K_AUTO_FROM] =	F(FT_INT, auto_from, SUB_NONE, 0),
	[CONF_K_MAILDOMAIN] =	F(FT_STR, maildomain, SUB_NONE, 0),
	[CONF_K_PROXY_HOST] =	F(FT_STR, proxy_host, SUB_NONE, 0),
	[CONF_K_PROXY_PORT] =	F(FT_INT, proxy_port, SUB_NONE, 0),
	[CONF_K_PROXY_USER] =	F(FT_STR, proxy_user, SUB_NONE, 0),
	[CONF_K_PROXY_PASSWORD] = F(FT_STR, proxy_password, SUB_NONE, 1),
	[CONF_K_SOCKET] =	F(FT_STR, socket, SUB_TILDE, 0),
	[CONF_K_FALLBACK] =	F(FT_STR, fallback, SUB_NONE, 0),
	[CONF_K_OAUTH2_PROVIDER] = F(FT_STR, oauth2_provider, SUB_NONE, 0),
	[CONF_K_OAUTH2_FLOW] =	F(FT_STR, oauth2_flow, SUB_NONE, 0),
	[CONF_K_OAUTH2_CLIENT_ID] =
	    F(FT_STR, oauth2_client_id, SUB_NONE, 0),
	[CONF_K_OAUTH2_CLIENT_SECRET] =
	    F(FT_STR, oauth2_client_secret, SUB_NONE, 1),
	[CONF_K_OAUTH2_CLIENT_SECRET_EVAL] =
	    F(FT_STR, oauth2_client_secret_eval, SUB_NONE, 0),
	[CONF_K_OAUTH2_TENANT] = F(FT_STR, oauth2_tenant, SUB_NONE, 0),
	[CONF_K_OAUTH2_SCOPE] =	F(FT_STR, oauth2_scope, SUB_NONE, 0),
	[CONF_K_OAUTH2_AUTHORIZE_URL] =
	    F(FT_STR, oauth2_authorize_url, SUB_NONE, 0),
	[CONF_K_OAUTH2_DEVICE_URL] =
	    F(FT_STR, oauth2_device_url, SUB_NONE, 0),
	[CONF_K_OAUTH2_TOKEN_URL] =
	    F(FT_STR, oauth2_token_url, SUB_NONE, 0),
	[CONF_K_OAUTH2_REVOKE_URL] =
	    F(FT_STR, oauth2_revoke_url, SUB_NONE, 0),
	[CONF_K_OAUTH2_REDIRECT_PORT] =
	    F(FT_INT, oauth2_redirect_port, SUB_NONE, 0),
	[CONF_K_OAUTH2_TOKEN_FILE] =
	    F(FT_STR, oauth2_token_file, SUB_TILDE, 0),
	[CONF_K_QUEUE_RUNNER] =	F(FT_INT, queue_runner, SUB_NONE, 0),
	[CONF_K_QUEUE_BACKOFF] = F(FT_INT, queue_backoff, SUB_NONE, 0),
	[CONF_K_BOUNCE] =	F(FT_INT, bounce, SUB_NONE, 0),
	[CONF_K_BOUNCE_TO] =	F(FT_STR, bounce_to, SUB_NONE, 0),
	[CONF_K_PERSIST] =	F(FT_INT, persist, SUB_NONE, 0),
	[CONF_K_MAX_CONNECTIONS] =
	    F(FT_INT, max_connections, SUB_NONE, 0),
	[CONF_K_LOCAL_DOMAINS] = F(FT_STR, local_domains, SUB_NONE, 0),
	[CONF_K_ADMIN] =	F(FT_STR, admin, SUB_NONE, 0),
};

#undef F

/* The parser's state while it walks one buffer. */
struct conf_parser {
	struct conf	*c;
	struct err	*e;
	const char	*file;
	int		 line;
	struct account	 defaults;	/* the defaults sections so far */
	struct conf_keyset *owns;	/* per account: own + inherited keys */
	struct account	*cur;		/* where key lines go */
	struct conf_keyset *curown;
	struct conf_keyset defown;
	size_t		 copied;	/* bytes duplicated by inheritance */
	conf_eval_fn	 eval;		/* NULL: eval lines refused */
	int		 in_eval;	/* parsing the line an eval gave */
	struct conf_keyset noted;	/* bit per key number whose note was
					   given; bit 63 for ntlmdomain */
};

/*
 * How a key's argument is read.  Every key that accepts "on" also
 * accepts an empty argument as "on", as msmtp does.
 */
enum conf_kind {
	KIND_STR,		/* text; empty unsets */
	KIND_PATH,		/* file name; empty unsets; ~ in conf_subst */
	KIND_BOOL,		/* on | off; empty is on */
	KIND_SPECIAL,		/* the key's own parser */
	KIND_EVAL,		/* the line becomes a command's output */
	KIND_UNSUPPORTED	/* an msmtp key posthorn does not implement */
};

struct conf_key {
	const char	*name;
	int		 id;
	enum conf_kind	 kind;
	int		 needarg;	/* an empty argument is an error */
	int		 secret;	/* value never shown in messages */
	int		(*parse)(struct conf_parser *, const struct conf_key *,
			    const char *);
};

static int	conf_k_defaults(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_account(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_port(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_domain(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_auth(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_password(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_trust(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_fingerprint(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_nocertcheck(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_nostarttls(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_timeout(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_source_ip(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_lifetime(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_dsn_notify(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_dsn_return(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_syslog(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_set_from(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_set_date(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_add_missing(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_keepbcc(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_protocol(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_persist(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_max_connections(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_session_timeout(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_scram_max(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_command_timeout(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_set_msgid(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_set_to(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_undisclosed(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_dh_bits(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_obsolete(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_oauth2_provider(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_oauth2_flow(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_oauth2_url(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_redirect_port(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_bounce_to(struct conf_parser *, const struct conf_key *,
		    const char *);
static int	conf_k_local_domains(struct conf_parser *,
		    const struct conf_key *, const char *);
static int	conf_k_admin(struct conf_parser *, const struct conf_key *,
		    const char *);

#define K_STR(n, id)	{ n, id, KIND_STR, 0, 0, NULL }
#define K_PATH(n, id)	{ n, id, KIND_PATH, 0, 0, NULL }
#define K_BOOL(n, id)	{ n, id, KIND_BOOL, 0, 0, NULL }
#define K_FN(n, id, need, fn) { n, id, KIND_SPECIAL, need, 0, fn }
#define K_NO(n)		{ n, CONF_K_NONE, KIND_UNSUPPORTED, 0, 0, NULL }

/*
 * The one table of keys.  The first name listed for a key number is the
 * name used in messages.
 */
static const struct conf_key conf_keys[] = {
	K_FN("defaults", CONF_K_NONE, 0, conf_k_defaults),
	K_FN("account", CONF_K_NONE, 1, conf_k_account),
	{ "host", CONF_K_HOST, KIND_STR, 1, 0, NULL },
	K_FN("port", CONF_K_PORT, 1, conf_k_port),
	K_STR("from", CONF_K_FROM),
	K_STR("from_full_name", CONF_K_FROM_FULL_NAME),
	K_FN("domain", CONF_K_DOMAIN, 0, conf_k_domain),
	K_FN("auth", CONF_K_AUTH, 0, conf_k_auth),
	K_STR("user", CONF_K_USER),
	{ "password", CONF_K_PASSWORD, KIND_SPECIAL, 0, 1, conf_k_password },
	K_STR("passwordeval", CONF_K_PASSWORDEVAL),
	K_BOOL("tls", CONF_K_TLS),
	K_BOOL("tls_starttls", CONF_K_TLS_STARTTLS),
	K_FN("tls_trust_file", CONF_K_TLS_TRUST_FILE, 0, conf_k_trust),
	K_PATH("tls_crl_file", CONF_K_TLS_CRL_FILE),
	K_BOOL("tls_certcheck", CONF_K_TLS_CERTCHECK),
	K_FN("tls_fingerprint", CONF_K_TLS_FINGERPRINT, 0,
	    conf_k_fingerprint),
	K_PATH("tls_cert_file", CONF_K_TLS_CERT_FILE),
	K_PATH("tls_key_file", CONF_K_TLS_KEY_FILE),
	K_STR("tls_priorities", CONF_K_TLS_PRIORITIES),
	K_STR("tls_host_override", CONF_K_TLS_HOST_OVERRIDE),
	K_FN("timeout", CONF_K_TIMEOUT, 1, conf_k_timeout),
	K_FN("source_ip", CONF_K_SOURCE_IP, 0, conf_k_source_ip),
	K_FN("dsn_notify", CONF_K_DSN_NOTIFY, 1, conf_k_dsn_notify),
	K_FN("dsn_return", CONF_K_DSN_RETURN, 1, conf_k_dsn_return),
	K_PATH("logfile", CONF_K_LOGFILE),
	K_STR("logfile_time_format", CONF_K_LOGFILE_TIME_FORMAT),
	K_FN("syslog", CONF_K_SYSLOG, 0, conf_k_syslog),
	K_PATH("aliases", CONF_K_ALIASES),
	K_FN("set_from_header", CONF_K_SET_FROM_HEADER, 0, conf_k_set_from),
	K_FN("set_date_header", CONF_K_SET_DATE_HEADER, 0, conf_k_set_date),
	K_BOOL("remove_bcc_headers", CONF_K_REMOVE_BCC_HEADERS),
	K_FN("set_msgid_header", CONF_K_SET_MSGID_HEADER, 0,
	    conf_k_set_msgid),
	K_FN("set_to_header", CONF_K_SET_TO_HEADER, 0, conf_k_set_to),
	K_BOOL("allow_from_override", CONF_K_ALLOW_FROM_OVERRIDE),
	K_FN("local_domains", CONF_K_LOCAL_DOMAINS, 0, conf_k_local_domains),
	K_FN("admin", CONF_K_ADMIN, 0, conf_k_admin),
	K_BOOL("queue", CONF_K_QUEUE),
	K_BOOL("edit", CONF_K_EDIT),
	K_PATH("record", CONF_K_RECORD),
	K_PATH("queue_dir", CONF_K_QUEUE_DIR),
	K_FN("queue_lifetime", CONF_K_QUEUE_LIFETIME, 1, conf_k_lifetime),
	K_FN("protocol", CONF_K_PROTOCOL, 1, conf_k_protocol),

	/* Old msmtp spellings still found in the wild. */
	K_FN("tls_nocertcheck", CONF_K_TLS_CERTCHECK, 0, conf_k_nocertcheck),
	K_FN("tls_nostarttls", CONF_K_TLS_STARTTLS, 0, conf_k_nostarttls),
	K_FN("connect_timeout", CONF_K_TIMEOUT, 1, conf_k_timeout),
	K_FN("add_missing_from_header", CONF_K_SET_FROM_HEADER, 0,
	    conf_k_add_missing),
	K_FN("add_missing_date_header", CONF_K_SET_DATE_HEADER, 0,
	    conf_k_add_missing),
	K_FN("keepbcc", CONF_K_REMOVE_BCC_HEADERS, 0, conf_k_keepbcc),
	K_FN("undisclosed_recipients", CONF_K_SET_TO_HEADER, 0,
	    conf_k_undisclosed),
	{ "eval", CONF_K_NONE, KIND_EVAL, 1, 0, NULL },
	K_FN("tls_min_dh_prime_bits", CONF_K_TLS_MIN_DH_PRIME_BITS, 0,
	    conf_k_dh_bits),
	/* Obsolete in msmtp: honoured, with a note on standard error. */
	K_FN("auto_from", CONF_K_AUTO_FROM, 0, conf_k_obsolete),
	K_FN("maildomain", CONF_K_MAILDOMAIN, 0, conf_k_obsolete),
	K_FN("ntlmdomain", CONF_K_NONE, 0, conf_k_obsolete),

	/* msmtp keys posthorn refuses with a clearer word than "unknown". */
	K_NO("tls_force_sslv3"),

	K_FN("session_timeout", CONF_K_SESSION_TIMEOUT, 1,
	    conf_k_session_timeout),
	/* posthorn's own, added later. */
	K_FN("scram_max_iterations", CONF_K_SCRAM_MAX_ITERATIONS, 1,
	    conf_k_scram_max),
	K_FN("command_timeout", CONF_K_COMMAND_TIMEOUT, 1,
	    conf_k_command_timeout),
	/* The queue (issue 9). */
	K_FN("failed_lifetime", CONF_K_FAILED_LIFETIME, 1, conf_k_lifetime),
	/* Network paths (issue 12): msmtp's, then posthorn's. */
	K_STR("proxy_host", CONF_K_PROXY_HOST),
	K_FN("proxy_port", CONF_K_PROXY_PORT, 0, conf_k_port),
	K_STR("proxy_user", CONF_K_PROXY_USER),
	{ "proxy_password", CONF_K_PROXY_PASSWORD, KIND_SPECIAL, 0, 1,
	    conf_k_password },
	K_PATH("socket", CONF_K_SOCKET),
	K_STR("fallback", CONF_K_FALLBACK),	/* fallback.c resolves it */
	/* OAuth2 (issue 10; oauth.c). */
	K_FN("oauth2_provider", CONF_K_OAUTH2_PROVIDER, 1,
	    conf_k_oauth2_provider),
	K_FN("oauth2_flow", CONF_K_OAUTH2_FLOW, 1, conf_k_oauth2_flow),
	K_STR("oauth2_client_id", CONF_K_OAUTH2_CLIENT_ID),
	{ "oauth2_client_secret", CONF_K_OAUTH2_CLIENT_SECRET, KIND_SPECIAL,
	    0, 1, conf_k_password },
	K_STR("oauth2_client_secret_eval", CONF_K_OAUTH2_CLIENT_SECRET_EVAL),
	K_STR("oauth2_tenant", CONF_K_OAUTH2_TENANT),
	K_STR("oauth2_scope", CONF_K_OAUTH2_SCOPE),
	K_FN("oauth2_authorize_url", CONF_K_OAUTH2_AUTHORIZE_URL, 0,
	    conf_k_oauth2_url),
	K_FN("oauth2_device_url", CONF_K_OAUTH2_DEVICE_URL, 0,
	    conf_k_oauth2_url),
	K_FN("oauth2_token_url", CONF_K_OAUTH2_TOKEN_URL, 0,
	    conf_k_oauth2_url),
	K_FN("oauth2_revoke_url", CONF_K_OAUTH2_REVOKE_URL, 0,
	    conf_k_oauth2_url),
	K_FN("oauth2_redirect_port", CONF_K_OAUTH2_REDIRECT_PORT, 1,
	    conf_k_redirect_port),
	K_PATH("oauth2_token_file", CONF_K_OAUTH2_TOKEN_FILE),
	K_BOOL("queue_runner", CONF_K_QUEUE_RUNNER),
	K_FN("queue_backoff", CONF_K_QUEUE_BACKOFF, 1, conf_k_lifetime),
	K_BOOL("bounce", CONF_K_BOUNCE),
	K_FN("bounce_to", CONF_K_BOUNCE_TO, 1, conf_k_bounce_to),
	/* The connection holder (issue 14, persist.c). */
	K_FN("persist", CONF_K_PERSIST, 1, conf_k_persist),
	K_FN("max_connections", CONF_K_MAX_CONNECTIONS, 1,
	    conf_k_max_connections),
};

#undef K_STR
#undef K_PATH
#undef K_BOOL
#undef K_FN
#undef K_NO

#define NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

/* Field access by offset. */
static char **
conf_strp(struct account *a, int id)
{
	return (char **)(void *)((char *)a + conf_fields[id].off);
}

static int *
conf_intp(struct account *a, int id)
{
	return (int *)(void *)((char *)a + conf_fields[id].off);
}

static const char *
conf_cstr(const struct account *a, int id)
{
	return *(char *const *)(const void *)((const char *)a +
	    conf_fields[id].off);
}

static int
conf_cint(const struct account *a, int id)
{
	return *(const int *)(const void *)((const char *)a +
	    conf_fields[id].off);
}

static const struct conf_key *
conf_key_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

/* The name messages use for key number id. */
static const char *
conf_key_name(int id)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (conf_keys[i].id == id)
			return conf_keys[i].name;
	return "?";
}

static void
conf_str_free(char *s, int secret)
{
	if (secret)
		wipe_free(s);
	else
		free(s);
}

/* Replaces the string of key id in a by a copy of s (NULL unsets). */
static void
conf_str_set(struct account *a, int id, const char *s)
{
	char **p = conf_strp(a, id);

	conf_str_free(*p, conf_fields[id].secret);
	*p = s != NULL ? xstrdup(s) : NULL;
}

/* Copies the value of key id from src to dst; returns the bytes copied. */
static size_t
conf_copy_key(struct account *dst, const struct account *src, int id)
{
	const char *v;

	switch (conf_fields[id].type) {
	case FT_STR:
		v = conf_cstr(src, id);
		conf_str_set(dst, id, v);
		return v != NULL ? strlen(v) + 1 : 0;
	case FT_INT:
		*conf_intp(dst, id) = conf_cint(src, id);
		break;
	case FT_AUTH:
		dst->auth = src->auth;
		free(dst->auth_mech);
		dst->auth_mech = src->auth_mech ? xstrdup(src->auth_mech) :
		    NULL;
		break;
	case FT_FPR:
		memcpy(dst->tls_fingerprint, src->tls_fingerprint,
		    sizeof(dst->tls_fingerprint));
		dst->tls_fingerprint_len = src->tls_fingerprint_len;
		break;
	case FT_NONE:
		break;
	}
	return 0;
}

/* Bytes of strings an account holds (for the inheritance cap). */
static size_t
conf_account_bytes(const struct account *a)
{
	size_t n = 0;
	int id;

	for (id = 0; id < CONF_K_MAX; id++)
		if (conf_fields[id].type == FT_STR &&
		    conf_cstr(a, id) != NULL)
			n += strlen(conf_cstr(a, id)) + 1;
	return n;
}

/* posthorn's defaults; a is zeroed first. */
static void
conf_account_defaults(struct account *a)
{
	memset(a, 0, sizeof(*a));
	a->tls = 1;
	a->tls_starttls = 1;
	a->tls_certcheck = 1;
	a->tls_trust_file = xstrdup("system");
	/* domain stays unset: conf_env_ehlo names the host when sending. */
	a->set_from_header = SETFROM_AUTO;
	a->set_date_header = 1;
	a->remove_bcc_headers = 1;
	a->allow_from_override = 1;
	a->queue = 1;
	a->queue_lifetime = 5 * 86400;
	a->session_timeout = CONF_SESSION_TIMEOUT;
	a->scram_max_iterations = CONF_SCRAM_ITER_DEFAULT;
	a->command_timeout = CONF_COMMAND_TIMEOUT;
	a->failed_lifetime = 30 * 86400;
	a->set_msgid_header = 1;
	a->queue_runner = 1;
	a->queue_backoff = 60;
	a->bounce = 1;
	a->max_connections = 2;
}

/* Frees what a holds, wiping secrets, and zeroes it. */
static void
conf_account_release(struct account *a)
{
	int id;

	for (id = 0; id < CONF_K_MAX; id++)
		if (conf_fields[id].type == FT_STR)
			conf_str_free(*conf_strp(a, id),
			    conf_fields[id].secret);
	free(a->auth_mech);
	free(a->name);
	free(a->file);
	free(a->fallback_to);
	free(a->tls_cert_pem);
	if (a->tls_key_pem != NULL) {
		wipe(a->tls_key_pem, a->tls_key_pem_len);
		free(a->tls_key_pem);
	}
	free(a->secret_error);
	wipe(a, sizeof(*a));
}

struct account *
conf_account_new(const char *name)
{
	struct account *a = xmalloc(sizeof(*a));

	conf_account_defaults(a);
	a->name = name != NULL ? xstrdup(name) : NULL;
	return a;
}

struct account *
conf_account_dup(const struct account *src)
{
	struct account *a;
	int id;

	if (src == NULL)
		return NULL;
	a = xcalloc(1, sizeof(*a));
	for (id = 0; id < CONF_K_MAX; id++)
		conf_copy_key(a, src, id);
	a->name = src->name != NULL ? xstrdup(src->name) : NULL;
	a->file = src->file != NULL ? xstrdup(src->file) : NULL;
	a->line = src->line;
	a->set = src->set;
	memcpy(a->lines, src->lines, sizeof(a->lines));
	a->password_in_file = src->password_in_file;
	/* The fallbacks are the file's accounts: shared, not copied. */
	if (src->nfallback > 0) {
		a->fallback_to = xcalloc(src->nfallback,
		    sizeof(*a->fallback_to));
		memcpy(a->fallback_to, src->fallback_to, src->nfallback *
		    sizeof(*a->fallback_to));
		a->nfallback = src->nfallback;
	}
	if (src->tls_cert_pem != NULL) {
		a->tls_cert_pem = xmalloc(src->tls_cert_pem_len + 1);
		memcpy(a->tls_cert_pem, src->tls_cert_pem,
		    src->tls_cert_pem_len + 1);
		a->tls_cert_pem_len = src->tls_cert_pem_len;
	}
	if (src->tls_key_pem != NULL) {
		a->tls_key_pem = xmalloc(src->tls_key_pem_len + 1);
		memcpy(a->tls_key_pem, src->tls_key_pem,
		    src->tls_key_pem_len + 1);
		a->tls_key_pem_len = src->tls_key_pem_len;
	}
	if (src->secret_error != NULL)
		a->secret_error = xstrdup(src->secret_error);
	return a;
}

void
conf_account_free(struct account *a)
{
	if (a == NULL)
		return;
	conf_account_release(a);
	free(a);
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->naccounts; i++)
		conf_account_free(c->accounts[i]);
	free(c->accounts);
	for (i = 0; i < c->nnotes; i++)
		free(c->notes[i]);
	free(c->notes);
	free(c->path);
	memset(c, 0, sizeof(*c));
}

int
conf_port(const struct account *a)
{
	if (a->port != 0)
		return a->port;
	if (a->protocol == PROTO_LMTP)
		return 2003;
	return a->tls && !a->tls_starttls ? 465 : 25;
}

/* ------------------------------------------------------------ messages */

static int __attribute__((format(printf, 2, 3)))
conf_perr(struct conf_parser *p, const char *fmt, ...)
{
	struct buf msg;
	va_list ap;

	/* Whole: err_set cuts the line, and says so, if it must. */
	buf_init(&msg, 0);
	va_start(ap, fmt);
	(void)buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (p->line == 0)	/* a command-line option (conf_account_set) */
		err_set(p->e, ERR_USAGE, "%s: %s", p->file, buf_str(&msg));
	else
		err_set(p->e, ERR_CONFIG, "%s:%d: %s", p->file, p->line,
		    buf_str(&msg));
	buf_release(&msg);
	return -1;
}

/*
 * "FILE:LINE: invalid value 'v' for key 'k'[: why]"; the value of a secret
 * key is never shown.
 */
static int
conf_bad(struct conf_parser *p, const struct conf_key *k, const char *v,
    const char *why)
{
	const char *sep = why != NULL ? ": " : "";

	if (why == NULL)
		why = "";
	if (k->secret)
		return conf_perr(p, "invalid value for key '%s'%s%s",
		    k->name, sep, why);
	return conf_perr(p, "invalid value '%.*s%s' for key '%s'%s%s",
	    CONF_SHOW, v, strlen(v) > CONF_SHOW ? "..." : "", k->name,
	    sep, why);
}

/* ------------------------------------------------------------ values */

/* 1 for on or empty, 0 for off, -1 for anything else. */
static int
conf_onoff(const char *v)
{
	if (*v == '\0' || strcasecmp(v, "on") == 0)
		return 1;
	if (strcasecmp(v, "off") == 0)
		return 0;
	return -1;
}

/* A decimal number in [min, max], or -1. */
static long
conf_number(const char *v, long min, long max)
{
	long n = 0;

	if (*v == '\0')
		return -1;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		n = n * 10 + (*v - '0');
		if (n > max)
			return -1;
	}
	return n < min ? -1 : n;
}

/*
 * Reads "AB:CD:.." (or the same digits without colons) into at most 32
 * bytes; returns the byte count or -1.
 */
static int
conf_hexbytes(const char *s, unsigned char out[32])
{
	int colons = strchr(s, ':') != NULL;
	int n = 0, hi, lo;

	if (*s == '\0')
		return -1;
	for (;;) {
		if (n == 32)
			return -1;
		if ((hi = str_hexval((unsigned char)s[0])) == -1 ||
		    (lo = str_hexval((unsigned char)s[1])) == -1)
			return -1;
		out[n++] = (unsigned char)(hi << 4 | lo);
		s += 2;
		if (*s == '\0')
			return n;
		if (colons) {
			if (*s != ':' || s[1] == '\0')
				return -1;
			s++;
		}
	}
}

int
conf_parse_fingerprint(const char *s, unsigned char out[32])
{
	unsigned char tmp[32];
	int n;

	n = conf_hexbytes(s, tmp);
	if (n != 32 && n != 20)
		return -1;
	memcpy(out, tmp, (size_t)n);
	return n;
}

/* ------------------------------------------------------------ keys */

/* Marks key id as given for the account being filled. */
static void
conf_mark(struct conf_parser *p, int id)
{
	KS_ADD(&p->cur->set, id);
	p->cur->lines[id] = p->line;
	KS_ADD(p->curown, id);
}

static int
conf_k_defaults(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (*v != '\0')
		return conf_perr(p, "key '%s' takes no value", k->name);
	p->cur = &p->defaults;
	p->curown = &p->defown;
	return 0;
}

/* Trims blanks and one pair of enclosing double quotes, in place. */
static char *
conf_unquote(char *s)
{
	size_t n;

	str_trim(s);
	n = strlen(s);
	if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
		s[n - 1] = '\0';
		s++;
	}
	return s;
}

static struct account *
conf_find_index(struct conf *c, const char *name, size_t *idx)
{
	size_t i;

	for (i = 0; i < c->naccounts; i++)
		if (strcmp(c->accounts[i]->name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return c->accounts[i];
		}
	return NULL;
}

/*
 * Starts account name from the defaults seen so far; becomes where the
 * following key lines go.
 */
static int
conf_new_account(struct conf_parser *p, const char *name)
{
	struct conf *c = p->c;
	struct account *a, *old;

	if ((old = conf_find_index(c, name, NULL)) != NULL)
		return conf_perr(p, "account '%.*s' is already defined "
		    "(line %d)", CONF_SHOW, name, old->line);
	if (c->naccounts == CONF_ACCOUNTS_MAX)
		return conf_perr(p, "too many accounts (at most %d)",
		    CONF_ACCOUNTS_MAX);
	a = conf_account_dup(&p->defaults);
	free(a->name);
	free(a->file);
	a->name = xstrdup(name);
	a->file = xstrdup(p->file);
	a->line = p->line;
	c->accounts = xreallocarray(c->accounts, c->naccounts + 1,
	    sizeof(*c->accounts));
	p->owns = xreallocarray(p->owns, c->naccounts + 1, sizeof(*p->owns));
	c->accounts[c->naccounts] = a;
	memset(&p->owns[c->naccounts], 0, sizeof(*p->owns));
	p->cur = a;
	p->curown = &p->owns[c->naccounts];
	c->naccounts++;
	return 0;
}

/*
 * account NAME [: PARENT[, PARENT...]]: the defaults so far, then each
 * parent's own and inherited keys in order (not the defaults a parent
 * got: those of a later defaults section win, as in msmtp).  v is the
 * argument as written: names are unquoted one by one.
 */
static int
conf_k_account(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	char *raw, *name, *list, *item, *next;
	size_t *parents = NULL, np = 0, i;
	int id, rc = -1;

	(void)k;
	raw = xstrdup(v);
	if ((list = strchr(raw, ':')) != NULL)
		*list++ = '\0';
	name = conf_unquote(raw);
	if (*name == '\0') {
		conf_perr(p, "missing account name");
		goto out;
	}
	if (strchr(name, ',') != NULL) {
		conf_perr(p, "account name '%.*s' must not contain ','",
		    CONF_SHOW, name);
		goto out;
	}
	for (item = list; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		item = conf_unquote(item);
		if (*item == '\0') {
			conf_perr(p, "missing account name in the parents of "
			    "'%.*s'", CONF_SHOW, name);
			goto out;
		}
		parents = xreallocarray(parents, np + 1, sizeof(*parents));
		if (conf_find_index(p->c, item, &parents[np]) == NULL) {
			conf_perr(p, "account '%.*s' is not defined (yet)",
			    CONF_SHOW, item);
			goto out;
		}
		np++;
	}
	if (conf_new_account(p, name) == -1)
		goto out;
	p->copied += conf_account_bytes(p->cur);
	for (i = 0; i < np && p->copied <= CONF_COPY_MAX; i++)
		for (id = 0; id < CONF_K_MAX; id++) {
			if (!KS_HAS(&p->owns[parents[i]], id))
				continue;
			p->copied += conf_copy_key(p->cur,
			    p->c->accounts[parents[i]], id);
			conf_mark(p, id);
			p->cur->lines[id] =
			    p->c->accounts[parents[i]]->lines[id];
		}
	if (p->copied > CONF_COPY_MAX) {
		conf_perr(p, "accounts copy more than %d bytes from defaults "
		    "and parents", CONF_COPY_MAX);
		goto out;
	}
	rc = 0;
out:
	free(parents);
	free(raw);
	return rc;
}

static int
conf_k_port(struct conf_parser *p, const struct conf_key *k, const char *v)
{
	long n;

	/* proxy_port with no argument: back to the default. */
	if (*v == '\0' && !k->needarg) {
		*conf_intp(p->cur, k->id) = 0;
		return 0;
	}
	if ((n = conf_number(v, 1, 65535)) == -1)
		return conf_bad(p, k, v, "not a port number from 1 to 65535");
	*conf_intp(p->cur, k->id) = (int)n;
	return 0;
}

static int
conf_k_domain(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	/* Empty: back to the default, the host's name (conf_env_ehlo). */
	conf_str_set(p->cur, k->id, *v != '\0' ? v : NULL);
	return 0;
}

/* auth on | off | MECHANISM (RFC 4422 name, stored upper case). */
static int
conf_k_auth(struct conf_parser *p, const struct conf_key *k, const char *v)
{
	char mech[CONF_MECH_MAX + 1];
	size_t i, n = strlen(v);
	int on;

	if ((on = conf_onoff(v)) != -1) {
		p->cur->auth = on;
		free(p->cur->auth_mech);
		p->cur->auth_mech = NULL;
		return 0;
	}
	if (n > CONF_MECH_MAX)
		return conf_bad(p, k, v, "not on, off or a mechanism name");
	for (i = 0; i < n; i++) {
		char ch = v[i];

		if (ch >= 'a' && ch <= 'z')
			ch = (char)(ch - 'a' + 'A');
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '_'))
			return conf_bad(p, k, v,
			    "not on, off or a mechanism name");
		mech[i] = ch;
	}
	mech[n] = '\0';
	p->cur->auth = 1;
	free(p->cur->auth_mech);
	p->cur->auth_mech = xstrdup(mech);
	return 0;
}

static int
conf_k_password(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	conf_str_set(p->cur, k->id, *v != '\0' ? v : NULL);
	/* A password an eval command printed is not in the file. */
	if (*v != '\0' && !p->in_eval)
		p->c->has_secret = 1;
	return 0;
}

/* tls_trust_file system | FILE; empty means no trust file (""). */
static int
conf_k_trust(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	conf_str_set(p->cur, k->id, v);
	return 0;
}

static int
conf_k_fingerprint(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	unsigned char fp[32];
	int n;

	if (*v == '\0') {
		memset(p->cur->tls_fingerprint, 0,
		    sizeof(p->cur->tls_fingerprint));
		p->cur->tls_fingerprint_len = 0;
		return 0;
	}
	if ((n = conf_parse_fingerprint(v, fp)) == -1) {
		if (conf_hexbytes(v, fp) == 16)
			return conf_bad(p, k, v, "MD5 fingerprints are not "
			    "accepted, use the SHA-256 fingerprint");
		return conf_bad(p, k, v, "not a SHA-256 (or SHA-1) "
		    "fingerprint like AB:CD:..");
	}
	memset(p->cur->tls_fingerprint, 0, sizeof(p->cur->tls_fingerprint));
	memcpy(p->cur->tls_fingerprint, fp, (size_t)n);
	p->cur->tls_fingerprint_len = (size_t)n;
	return 0;
}

/* The old tls_nocertcheck and tls_nostarttls take no value. */
static int
conf_k_nocertcheck(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (*v != '\0')
		return conf_perr(p, "key '%s' takes no value "
		    "(tls_certcheck off is the current spelling)", k->name);
	p->cur->tls_certcheck = 0;
	return 0;
}

static int
conf_k_nostarttls(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (*v != '\0')
		return conf_perr(p, "key '%s' takes no value "
		    "(tls_starttls off is the current spelling)", k->name);
	p->cur->tls_starttls = 0;
	return 0;
}

static int
conf_k_timeout(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	long n;

	if (strcasecmp(v, "off") == 0) {
		p->cur->timeout = 0;
		return 0;
	}
	if ((n = conf_number(v, 1, CONF_TIMEOUT_MAX)) == -1)
		return conf_bad(p, k, v, "not off or a number of seconds");
	p->cur->timeout = (int)n;
	return 0;
}

/*
 * A duration: a number with an optional unit among UNITS (a subset of
 * "smhd"), seconds without one, from 1 up to MAX seconds.  Fills *out and
 * returns 0, or returns -1.
 */
static int
conf_duration(const char *v, const char *units, long max, int *out)
{
	static const struct {
		char	unit;
		long	seconds;
	} scale[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 } };
	char *end;
	long n, mult = 1;
	size_t i;

	errno = 0;
	n = strtol(v, &end, 10);
	if (end != v && *end != '\0' && end[1] == '\0' &&
	    strchr(units, *end) != NULL) {
		for (i = 0; i < sizeof(scale) / sizeof(scale[0]); i++)
			if (*end == scale[i].unit)
				mult = scale[i].seconds;
		end++;
	}
	if (end == v || *end != '\0' || errno != 0 || n < 1 || n > max / mult)
		return -1;
	*out = (int)(n * mult);
	return 0;
}

/*
 * queue_lifetime: how long a queued message is retried before it fails:
 * a number with an optional unit s, m, h, d (seconds without one).
 * failed_lifetime (how long a failed one is kept) takes the same.
 */
static int
conf_k_lifetime(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (conf_duration(v, "smhd", INT_MAX, conf_intp(p->cur, k->id)) < 0)
		return conf_bad(p, k, v, "not a duration like 5d, 12h, 30m "
		    "or 3600");
	return 0;
}

/*
 * session_timeout: the longest a session may take, not counting the time
 * message data is given by its size: off, or a number with an optional
 * unit s, m, h (seconds without one).
 */
static int
conf_k_session_timeout(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (strcasecmp(v, "off") == 0) {
		p->cur->session_timeout = 0;
		return 0;
	}
	if (conf_duration(v, "smh", CONF_TIMEOUT_MAX,
	    &p->cur->session_timeout) < 0)
		return conf_bad(p, k, v, "not off or a duration like 20m, 1h "
		    "or 1200");
	return 0;
}

/* A domain name as local_domains takes it: LDH labels, none empty. */
static int
conf_domain_word(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 253 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char ch = s[i];

		if (ch == '.' ? s[i + 1] == '.' : !((ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-'))
			return 0;
	}
	return 1;
}

/*
 * local_domains: domain names separated by blanks or commas, stored lower
 * case, one blank apart; empty: back to the default (conf_local_domains).
 */
static int
conf_k_local_domains(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	struct buf out;
	const char *s = v;
	size_t n;

	buf_init(&out, CONF_LOCAL_DOMAINS_MAX);
	for (;;) {
		s += strspn(s, " \t,");
		if (*s == '\0')
			break;
		n = strcspn(s, " \t,");
		if (!conf_domain_word(s, n)) {
			buf_release(&out);
			return conf_bad(p, k, v, "not a list of domain names");
		}
		if ((out.len > 0 && buf_adds(&out, " ") == -1) ||
		    buf_add(&out, s, n) == -1) {
			buf_release(&out);
			return conf_bad(p, k, v, "longer than the list may be");
		}
		s += n;
	}
	if (out.len > 0 && buf_add(&out, "", 1) == -1) {
		buf_release(&out);
		return conf_bad(p, k, v, "longer than the list may be");
	}
	conf_str_set(p->cur, k->id, out.len > 0 ? str_lower(out.data) : NULL);
	buf_release(&out);
	return 0;
}

/* admin ADDRESS: local@domain, no blanks or controls; empty unsets. */
static int
conf_k_admin(struct conf_parser *p, const struct conf_key *k, const char *v)
{
	const char *at = strrchr(v, '@');

	if (*v != '\0' && (at == NULL || at == v || at[1] == '\0' ||
	    str_has_ctl(v) || strpbrk(v, " \t<>,;") != NULL ||
	    !conf_domain_word(at + 1, strlen(at + 1))))
		return conf_bad(p, k, v, "not an address (user@domain)");
	conf_str_set(p->cur, k->id, *v != '\0' ? v : NULL);
	return 0;
}

static int
conf_k_source_ip(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	unsigned char addr[sizeof(struct in6_addr)];

	if (*v != '\0' && inet_pton(AF_INET, v, addr) != 1 &&
	    inet_pton(AF_INET6, v, addr) != 1)
		return conf_bad(p, k, v, "not an IPv4 or IPv6 address");
	conf_str_set(p->cur, k->id, *v != '\0' ? v : NULL);
	return 0;
}

/*
 * dsn_notify off | never | a comma list of success, failure, delay; kept
 * in that order, lower case.
 */
static int
conf_k_dsn_notify(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	static const char *const conds[] = { "success", "failure", "delay" };
	char *copy, *item, *next;
	unsigned seen = 0;
	struct buf out;
	size_t i;
	int rc = -1;

	if (strcasecmp(v, "off") == 0) {
		conf_str_set(p->cur, k->id, NULL);
		return 0;
	}
	if (strcasecmp(v, "never") == 0) {
		conf_str_set(p->cur, k->id, "never");
		return 0;
	}
	copy = xstrdup(v);
	for (item = copy; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		str_trim(item);
		for (i = 0; i < 3; i++)
			if (strcasecmp(item, conds[i]) == 0)
				break;
		if (i == 3 || (seen & (1U << i))) {
			conf_bad(p, k, v, "not off, never or a list of "
			    "success, failure and delay");
			goto out;
		}
		seen |= 1U << i;
	}
	buf_init(&out, 0);
	for (i = 0; i < 3; i++)
		if (seen & (1U << i)) {
			if (out.len > 0)
				buf_addc(&out, ',');
			buf_adds(&out, conds[i]);
		}
	conf_str_set(p->cur, k->id, buf_str(&out));
	buf_release(&out);
	rc = 0;
out:
	free(copy);
	return rc;
}

static int
conf_k_dsn_return(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (strcasecmp(v, "off") == 0)
		conf_str_set(p->cur, k->id, NULL);
	else if (strcasecmp(v, "headers") == 0 || strcasecmp(v, "hdrs") == 0)
		conf_str_set(p->cur, k->id, "headers");
	else if (strcasecmp(v, "full") == 0)
		conf_str_set(p->cur, k->id, "full");
	else
		return conf_bad(p, k, v, "not off, headers or full");
	return 0;
}

/* syslog on (LOG_MAIL) | off | LOG_USER | LOG_MAIL | LOG_LOCAL0..7. */
static int
conf_k_syslog(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	char fac[16];
	size_t i, n = strlen(v);
	int on;

	if ((on = conf_onoff(v)) != -1) {
		conf_str_set(p->cur, k->id, on ? "LOG_MAIL" : NULL);
		return 0;
	}
	if (n >= sizeof(fac))
		return conf_bad(p, k, v, "not on, off or a facility "
		    "(LOG_USER, LOG_MAIL, LOG_LOCAL0 to LOG_LOCAL7)");
	for (i = 0; i <= n; i++)
		fac[i] = (v[i] >= 'a' && v[i] <= 'z') ?
		    (char)(v[i] - 'a' + 'A') : v[i];
	if (strcmp(fac, "LOG_USER") != 0 && strcmp(fac, "LOG_MAIL") != 0 &&
	    !(strncmp(fac, "LOG_LOCAL", 9) == 0 && n == 10 &&
	    fac[9] >= '0' && fac[9] <= '7'))
		return conf_bad(p, k, v, "not on, off or a facility "
		    "(LOG_USER, LOG_MAIL, LOG_LOCAL0 to LOG_LOCAL7)");
	conf_str_set(p->cur, k->id, fac);
	return 0;
}

static int
conf_k_set_from(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	int on;

	if (strcasecmp(v, "auto") == 0)
		p->cur->set_from_header = SETFROM_AUTO;
	else if ((on = conf_onoff(v)) != -1)
		p->cur->set_from_header = on ? SETFROM_ON : SETFROM_OFF;
	else
		return conf_bad(p, k, v, "not auto, on or off");
	return 0;
}

static int
conf_k_set_date(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (*v == '\0' || strcasecmp(v, "auto") == 0)
		p->cur->set_date_header = 1;
	else if (strcasecmp(v, "off") == 0)
		p->cur->set_date_header = 0;
	else
		return conf_bad(p, k, v, "not auto or off");
	return 0;
}

/* add_missing_{from,date}_header on = set_..._header auto, off = off. */
static int
conf_k_add_missing(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	int on;

	if ((on = conf_onoff(v)) == -1)
		return conf_bad(p, k, v, "not on or off");
	if (k->id == CONF_K_SET_FROM_HEADER)
		p->cur->set_from_header = on ? SETFROM_AUTO : SETFROM_OFF;
	else
		p->cur->set_date_header = on;
	return 0;
}

/* keepbcc on = remove_bcc_headers off. */
static int
conf_k_keepbcc(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	int on;

	if ((on = conf_onoff(v)) == -1)
		return conf_bad(p, k, v, "not on or off");
	p->cur->remove_bcc_headers = !on;
	return 0;
}

static int
conf_k_protocol(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (strcasecmp(v, "smtp") == 0)
		p->cur->protocol = PROTO_SMTP;
	else if (strcasecmp(v, "lmtp") == 0)
		p->cur->protocol = PROTO_LMTP;
	else
		return conf_bad(p, k, v, "not smtp or lmtp");
	return 0;
}

/*
 * scram_max_iterations N: the highest SCRAM iteration count a server may
 * ask for (the client computes that many HMACs before it can answer).
 */
/*
 * persist: how long a holder keeps an idle session for later sends
 * (persist.c); "off" or 0 is off, else a duration like conf_k_lifetime's.
 */
static int
conf_k_persist(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (strcmp(v, "off") == 0 || strcmp(v, "0") == 0) {
		p->cur->persist = 0;
		return 0;
	}
	return conf_k_lifetime(p, k, v);
}

/* max_connections: sessions at once per account and user, 1 to 64. */
static int
conf_k_max_connections(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	long n;

	if ((n = conf_number(v, 1, 64)) == -1)
		return conf_bad(p, k, v, "not a number from 1 to 64");
	p->cur->max_connections = (int)n;
	return 0;
}

static int
conf_k_scram_max(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	long n;

	if ((n = conf_number(v, 1, INT_MAX)) == -1)
		return conf_bad(p, k, v, "not a number from 1 to 2147483647");
	p->cur->scram_max_iterations = (int)n;
	return 0;
}

/* command_timeout SECONDS | off */
static int
conf_k_command_timeout(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	long n;

	if (strcasecmp(v, "off") == 0) {
		p->cur->command_timeout = 0;
		return 0;
	}
	if ((n = conf_number(v, 1, CONF_TIMEOUT_MAX)) == -1)
		return conf_bad(p, k, v, "not off or a number of seconds");
	p->cur->command_timeout = (int)n;
	return 0;
}

/* set_msgid_header auto | off; empty is auto. */
static int
conf_k_set_msgid(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (*v == '\0' || strcasecmp(v, "auto") == 0)
		p->cur->set_msgid_header = 1;
	else if (strcasecmp(v, "off") == 0)
		p->cur->set_msgid_header = 0;
	else
		return conf_bad(p, k, v, "not auto or off");
	return 0;
}

/* set_to_header on | off | undisclosed_recipients; empty is on. */
static int
conf_k_set_to(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	int on;

	if (strcasecmp(v, "undisclosed_recipients") == 0)
		p->cur->set_to_header = SETTO_UNDISCLOSED;
	else if ((on = conf_onoff(v)) != -1)
		p->cur->set_to_header = on ? SETTO_ON : SETTO_OFF;
	else
		return conf_bad(p, k, v, "not on, off or "
		    "undisclosed_recipients");
	return 0;
}

/* The old undisclosed_recipients on = set_to_header undisclosed_recipients. */
static int
conf_k_undisclosed(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	int on;

	if ((on = conf_onoff(v)) == -1)
		return conf_bad(p, k, v, "not on or off");
	p->cur->set_to_header = on ? SETTO_UNDISCLOSED : SETTO_OFF;
	return 0;
}

/*
 * tls_min_dh_prime_bits BITS: the fewest Diffie-Hellman prime bits
 * accepted (GnuTLS's gnutls_dh_set_prime_bits); empty: the library's
 * default.
 */
static int
conf_k_dh_bits(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	long n;

	if (*v == '\0') {
		p->cur->tls_min_dh_prime_bits = 0;
		return 0;
	}
	if ((n = conf_number(v, 1, 65536)) == -1)
		return conf_bad(p, k, v, "not a number of bits from 1 to "
		    "65536");
	p->cur->tls_min_dh_prime_bits = (int)n;
	return 0;
}

/* Adds a "FILE:LINE: ..." note for standard error. */
static void __attribute__((format(printf, 2, 3)))
conf_note(struct conf_parser *p, const char *fmt, ...)
{
	struct buf msg;
	va_list ap;
	struct conf *c = p->c;

	buf_init(&msg, 0);
	(void)buf_printf(&msg, "%s:%d: ", p->file, p->line);
	va_start(ap, fmt);
	(void)buf_vprintf(&msg, fmt, ap);
	va_end(ap);
	c->notes = xreallocarray(c->notes, c->nnotes + 1, sizeof(*c->notes));
	c->notes[c->nnotes++] = buf_detach(&msg);
}

/*
 * auto_from, maildomain and ntlmdomain, obsolete in msmtp: the first two
 * still do what they did (conf_subst makes from %U@maildomain), the
 * third has nothing to act on.  Each gives one note per file.
 */
static int
conf_k_obsolete(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	int bit, on;

	bit = k->id == CONF_K_NONE ? CONF_K_MAX : k->id;
	if (k->id == CONF_K_AUTO_FROM) {
		if ((on = conf_onoff(v)) == -1)
			return conf_bad(p, k, v, "not on or off");
		p->cur->auto_from = on;
	} else if (k->id == CONF_K_MAILDOMAIN)
		conf_str_set(p->cur, k->id, *v != '\0' ? v : NULL);
	if (KS_HAS(&p->noted, bit))
		return 0;
	KS_ADD(&p->noted, bit);
	if (k->id == CONF_K_NONE)
		conf_note(p, "key '%s' is obsolete and has no effect "
		    "(posthorn has no NTLM)", k->name);
	else
		conf_note(p, "key '%s' is obsolete; it still works, but "
		    "'from %%U@DOMAIN' says the same", k->name);
	return 0;
}

/* oauth2_provider microsoft | google | generic */
static int
conf_k_oauth2_provider(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (strcmp(v, "microsoft") != 0 && strcmp(v, "google") != 0 &&
	    strcmp(v, "generic") != 0)
		return conf_bad(p, k, v, "not microsoft, google or generic");
	conf_str_set(p->cur, k->id, v);
	return 0;
}

/* oauth2_flow device | code | client_credentials */
static int
conf_k_oauth2_flow(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (strcmp(v, "device") != 0 && strcmp(v, "code") != 0 &&
	    strcmp(v, "client_credentials") != 0)
		return conf_bad(p, k, v, "not device, code or "
		    "client_credentials");
	conf_str_set(p->cur, k->id, v);
	return 0;
}

/* An endpoint: https only; empty unsets. */
static int
conf_k_oauth2_url(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	if (*v != '\0' && (strncasecmp(v, "https://", 8) != 0 ||
	    v[8] == '\0' || str_has_ctl(v) || strchr(v, ' ') != NULL))
		return conf_bad(p, k, v, "not an https URL");
	conf_str_set(p->cur, k->id, *v != '\0' ? v : NULL);
	return 0;
}

/* oauth2_redirect_port PORT (1-65535) | 0 (any) */
static int
conf_k_redirect_port(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	long n;

	if (strcmp(v, "0") == 0)
		n = 0;
	else if ((n = conf_number(v, 1, 65535)) == -1)
		return conf_bad(p, k, v, "not a port number");
	p->cur->oauth2_redirect_port = (int)n;
	return 0;
}

/* bounce_to: the address final failures are reported to, bare or <>. */
static int
conf_k_bounce_to(struct conf_parser *p, const struct conf_key *k,
    const char *v)
{
	char *a;
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '<' && v[n - 1] == '>')
		a = xstrndup(v + 1, n - 2);
	else
		a = xstrdup(v);
	if (!addr_valid_spec(a, 0)) {
		free(a);
		return conf_bad(p, k, v, "not an address like root@example.org");
	}
	free(p->cur->bounce_to);
	p->cur->bounce_to = a;
	return 0;
}

/* ------------------------------------------------------------ lines */

static int	conf_line(struct conf_parser *, const char *, size_t);
static char	*conf_home(void);
static int	conf_subst_pct(struct account *, int, struct conf_env *,
		    struct err *);
static int	conf_subst_tilde(struct account *, int, struct conf_env *,
		    struct err *);

/*
 * eval CMD: the line is replaced by the first line the command prints
 * (msmtp's rule), which may be any line but another eval.
 */
static int
conf_eval(struct conf_parser *p, const char *cmd)
{
	char *out;
	int rc, timeout;

	if (p->in_eval)
		return conf_perr(p, "the line an eval command printed is "
		    "another eval");
	if (p->eval == NULL)
		return conf_perr(p, "key 'eval' runs a command, and nothing "
		    "is run here");
	timeout = p->cur != NULL ? p->cur->command_timeout :
	    p->defaults.command_timeout;
	if (p->eval(cmd, timeout, &out, p->e) == -1)
		return err_prefix(p->e, "%s:%d: ", p->file, p->line);
	p->in_eval = 1;
	rc = conf_line(p, out, strlen(out));
	p->in_eval = 0;
	wipe_free(out);
	return rc;
}

/*
 * Edit distance of a and b with adjacent transpositions (optimal string
 * alignment), ASCII case folded; stops counting past 3.
 */
static size_t
conf_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d[3][33], best;

	if (la > 32 || lb > 32)
		return 3;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		size_t *cur = d[i % 3], *prev = d[(i - 1) % 3];
		size_t *prev2 = d[(i + 1) % 3];

		cur[0] = i;
		best = i;
		for (j = 1; j <= lb; j++) {
			int ca = a[i - 1] | 0x20, cb = b[j - 1] | 0x20;
			size_t v = prev[j - 1] + (ca != cb);

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && ca == (b[j - 2] | 0x20) &&
			    (a[i - 2] | 0x20) == cb && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
			if (v < best)
				best = v;
		}
		if (best > 3)
			return 3;
	}
	return d[la % 3][lb];
}

/*
 * An unknown first word.  It is never repeated: a line that is not a key
 * line may be a password that lost its key, or the rest of a value that
 * went on to the next line, and an error must not show a secret.  A key
 * it is close to is named instead.
 */
static int
conf_unknown(struct conf_parser *p, const char *word)
{
	const char *hint = NULL;
	size_t i, d, best = 3;

	for (i = 0; i < NKEYS; i++) {
		d = conf_distance(word, conf_keys[i].name);
		if (d < best && d * 3 <= strlen(conf_keys[i].name)) {
			best = d;
			hint = conf_keys[i].name;
		}
	}
	if (hint != NULL)
		return conf_perr(p, "unknown key (did you mean '%s'?)", hint);
	return conf_perr(p, "unknown key: the line does not start with a "
	    "key posthorn knows (see posthorn.conf(5))");
}

/* One line of n bytes (no newline).  0 or -1. */
static int
conf_line(struct conf_parser *p, const char *s, size_t n)
{
	const struct conf_key *k;
	char *line, *cmd, *rest, *v;
	size_t i;
	int on, rc = -1;

	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return conf_perr(p, "control character in line");
	}
	line = xstrndup(s, n);
	cmd = line + strspn(line, " \t");
	if (*cmd == '\0' || *cmd == '#') {
		rc = 0;
		goto out;
	}
	rest = cmd + strcspn(cmd, " \t");
	if (*rest != '\0')
		*rest++ = '\0';
	if ((k = conf_key_find(cmd)) == NULL) {
		conf_unknown(p, cmd);
		goto out;
	}
	/* account splits and unquotes its names itself. */
	v = k->parse == conf_k_account ? str_trim(rest) : conf_unquote(rest);
	if (k->kind == KIND_UNSUPPORTED) {
		conf_perr(p, "key '%s' is not supported by posthorn", k->name);
		goto out;
	}
	if (k->needarg && *v == '\0') {
		conf_perr(p, "key '%s' needs a value", k->name);
		goto out;
	}
	if (k->kind == KIND_EVAL) {
		rc = conf_eval(p, v);
		goto out;
	}
	if (k->id == CONF_K_NONE) {
		rc = k->parse(p, k, v);
		goto out;
	}
	/* Lines before any account or defaults form the account "default". */
	if (p->cur == NULL && conf_new_account(p, "default") == -1)
		goto out;
	switch (k->kind) {
	case KIND_STR:
	case KIND_PATH:
		conf_str_set(p->cur, k->id, *v != '\0' ? v : NULL);
		break;
	case KIND_BOOL:
		if ((on = conf_onoff(v)) == -1) {
			conf_bad(p, k, v, "not on or off");
			goto out;
		}
		*conf_intp(p->cur, k->id) = on;
		break;
	case KIND_SPECIAL:
		if (k->parse(p, k, v) == -1)
			goto out;
		break;
	case KIND_UNSUPPORTED:
	case KIND_EVAL:
		goto out;
	}
	conf_mark(p, k->id);
	rc = 0;
out:
	/* All n bytes: the parsing put NULs in it, so strlen would stop
	   before a password. */
	wipe(line, n + 1);
	free(line);
	return rc;
}

int
conf_parse(struct conf *c, const char *buf, size_t len, const char *filename,
    struct err *e)
{
	return conf_parse_eval(c, buf, len, filename, NULL, e);
}

int
conf_parse_eval(struct conf *c, const char *buf, size_t len,
    const char *filename, conf_eval_fn eval, struct err *e)
{
	struct conf_parser p;
	const char *eol;
	size_t pos = 0, n, next;

	memset(c, 0, sizeof(*c));
	if (filename == NULL)
		filename = "-";
	if (len > CONF_FILE_MAX)
		return err_set(e, ERR_CONFIG, "%s: file is larger than %d "
		    "bytes", filename, CONF_FILE_MAX);
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.e = e;
	p.file = filename;
	p.eval = eval;
	conf_account_defaults(&p.defaults);
	/* A UTF-8 byte order mark is not part of the first key. */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		p.line++;
		eol = memchr(buf + pos, '\n', len - pos);
		n = eol != NULL ? (size_t)(eol - (buf + pos)) : len - pos;
		next = pos + n + (eol != NULL);
		if (n > 0 && buf[pos + n - 1] == '\r')
			n--;
		if (n > CONF_LINE_MAX) {
			conf_perr(&p, "line longer than %d bytes",
			    CONF_LINE_MAX);
			goto fail;
		}
		if (conf_line(&p, buf + pos, n) == -1)
			goto fail;
		pos = next;
	}
	if (fallback_resolve(c, e) == -1)
		goto fail;
	conf_account_release(&p.defaults);
	free(p.owns);
	return 0;
fail:
	conf_account_release(&p.defaults);
	free(p.owns);
	conf_free(c);
	return -1;
}

/* ------------------------------------------------------------ options */

/*
 * The keys that are options too: every key of the table under its first
 * name, but the section keys, eval, secrets, refused keys, the ones the
 * command line has its own way for (host, port, tls, user, auth:
 * posthorn's --host ... whose values the queue keeps; from: -f), those
 * that name a route the queue could not find again (the client
 * certificate), and those that would let one word on a command line run
 * a program or write a file of the caller's choosing (passwordeval,
 * logfile, queue_dir): a web application that lets a user's text reach
 * sendmail's argv must not get a shell out of it (the PHPMailer route,
 * CVE-2016-10033, for which -X is refused).
 */
static int
conf_key_has_opt(const struct conf_key *k)
{
	static const int own[] = { CONF_K_HOST, CONF_K_PORT, CONF_K_TLS,
	    CONF_K_USER, CONF_K_AUTH, CONF_K_FROM, CONF_K_TLS_CERT_FILE,
	    CONF_K_TLS_KEY_FILE, CONF_K_PASSWORD, CONF_K_PASSWORDEVAL,
	    CONF_K_LOGFILE, CONF_K_QUEUE_DIR,
	    /* -e/--edit and --save-copy are the options for these two;
	       record writes a file, as logfile does. */
	    CONF_K_EDIT, CONF_K_RECORD,
	    /* --persist SECONDS is persist.c's own option. */
	    CONF_K_PERSIST };
	size_t i;

	if (k->id == CONF_K_NONE || k->kind == KIND_UNSUPPORTED ||
	    k->kind == KIND_EVAL || k->secret ||
	    strcmp(conf_key_name(k->id), k->name) != 0)
		return 0;
	for (i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (k->id == own[i])
			return 0;
	/* The OAuth2 sign-in is the file's: a word on the command line
	   must not send the account's tokens to another endpoint. */
	if (strncmp(k->name, "oauth2_", 7) == 0)
		return 0;
	return 1;
}

/* A key whose value may be left out, meaning on (or auto). */
static int
conf_key_onlike(const struct conf_key *k)
{
	static const int on[] = { CONF_K_SET_FROM_HEADER,
	    CONF_K_SET_DATE_HEADER, CONF_K_SET_MSGID_HEADER,
	    CONF_K_SET_TO_HEADER, CONF_K_SYSLOG, CONF_K_AUTO_FROM };
	size_t i;

	if (k->kind == KIND_BOOL)
		return 1;
	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++)
		if (k->id == on[i])
			return 1;
	return 0;
}

const char *
conf_keyopt(size_t i, int *optional)
{
	size_t k, n = 0;

	for (k = 0; k < NKEYS; k++) {
		if (!conf_key_has_opt(&conf_keys[k]))
			continue;
		if (n++ == i) {
			if (optional != NULL)
				*optional = conf_key_onlike(&conf_keys[k]);
			return conf_keys[k].name;
		}
	}
	return NULL;
}

int
conf_account_set(struct account *a, const char *key, const char *value,
    const char *what, struct conf_env *env, struct err *e)
{
	const struct conf_key *k;
	struct conf_parser p;
	struct conf c;
	struct conf_keyset own = { { 0 } };
	int on, rc = -1;

	if ((k = conf_key_find(key)) == NULL || !conf_key_has_opt(k))
		return err_set(e, ERR_USAGE, "%s: not a key option", what);
	memset(&p, 0, sizeof(p));
	memset(&c, 0, sizeof(c));
	p.c = &c;
	p.e = e;
	p.file = what;
	p.line = 0;
	p.cur = a;
	p.curown = &own;
	if (k->needarg && *value == '\0') {
		conf_perr(&p, "needs a value");
		goto out;
	}
	switch (k->kind) {
	case KIND_STR:
	case KIND_PATH:
		conf_str_set(a, k->id, *value != '\0' ? value : NULL);
		break;
	case KIND_BOOL:
		if ((on = conf_onoff(value)) == -1) {
			conf_bad(&p, k, value, "not on or off");
			goto out;
		}
		*conf_intp(a, k->id) = on;
		break;
	case KIND_SPECIAL:
		if (k->parse(&p, k, value) == -1)
			goto out;
		break;
	case KIND_UNSUPPORTED:
	case KIND_EVAL:
		goto out;
	}
	KS_ADD(&a->set, k->id);
	a->lines[k->id] = CONF_FROM_CLI;
	if (conf_fields[k->id].sub == SUB_PCT &&
	    conf_subst_pct(a, k->id, env, e) == -1)
		goto out;
	if (conf_fields[k->id].sub == SUB_TILDE &&
	    conf_subst_tilde(a, k->id, env, e) == -1)
		goto out;
	if ((k->id == CONF_K_AUTO_FROM || k->id == CONF_K_MAILDOMAIN) &&
	    a->auto_from) {
		if (env == NULL || env->user == NULL) {
			err_set(e, ERR_CONFIG, "%s: the user name is not known",
			    what);
			goto out;
		}
		free(a->from);
		a->from = a->maildomain != NULL ? xasprintf("%s@%s",
		    env->user, a->maildomain) : xstrdup(env->user);
	}
	rc = 0;
out:
	/* A note an option gave (maildomain) is not kept. */
	conf_free(&c);
	return rc;
}

/* ------------------------------------------------------------ describe */

void
conf_account_origin(struct account *a, const char *key, int where)
{
	const struct conf_key *k = conf_key_find(key);

	if (k != NULL && k->id != CONF_K_NONE) {
		a->lines[k->id] = where;
		KS_ADD(&a->set, k->id);
	}
}

/* The value of key k in a, as --pretend shows it. */
static void
conf_describe_value(const struct account *a, const struct conf_key *k,
    struct buf *out)
{
	static const char *const setfrom[] = { "auto", "on", "off" };
	static const char *const setto[] = { "off", "on",
	    "undisclosed_recipients" };
	const char *v;
	size_t i;
	int n;

	if (k->secret) {
		buf_adds(out, a->password != NULL || a->password_in_file ?
		    "***" : "(not set)");
		return;
	}
	switch (conf_fields[k->id].type) {
	case FT_STR:
		v = conf_cstr(a, k->id);
		buf_adds(out, v == NULL ? "(not set)" : *v == '\0' ?
		    "\"\"" : v);
		return;
	case FT_AUTH:
		buf_adds(out, !a->auth ? "off" : a->auth_mech != NULL ?
		    a->auth_mech : "on");
		return;
	case FT_FPR:
		if (a->tls_fingerprint_len == 0)
			buf_adds(out, "(not set)");
		for (i = 0; i < a->tls_fingerprint_len; i++)
			buf_printf(out, "%s%02X", i ? ":" : "",
			    a->tls_fingerprint[i]);
		return;
	case FT_NONE:
		buf_adds(out, "smtp");
		return;
	case FT_INT:
		break;
	}
	n = conf_cint(a, k->id);
	if (k->kind == KIND_BOOL || k->id == CONF_K_AUTO_FROM)
		buf_adds(out, n ? "on" : "off");
	else if (k->id == CONF_K_SET_FROM_HEADER && n >= 0 && n <= 2)
		buf_adds(out, setfrom[n]);
	else if (k->id == CONF_K_SET_TO_HEADER && n >= 0 && n <= 2)
		buf_adds(out, setto[n]);
	else if (k->id == CONF_K_SET_DATE_HEADER ||
	    k->id == CONF_K_SET_MSGID_HEADER)
		buf_adds(out, n ? "auto" : "off");
	else if (k->id == CONF_K_PORT && n == 0)
		buf_printf(out, "%d (the default)", conf_port(a));
	else if ((k->id == CONF_K_TIMEOUT || k->id == CONF_K_SESSION_TIMEOUT ||
	    k->id == CONF_K_COMMAND_TIMEOUT ||
	    k->id == CONF_K_TLS_MIN_DH_PRIME_BITS) && n == 0)
		buf_adds(out, k->id == CONF_K_TLS_MIN_DH_PRIME_BITS ?
		    "(GnuTLS's default)" : "off");
	else
		buf_printf(out, "%d", n);
}

void
conf_describe(const struct account *a, struct buf *out)
{
	const struct conf_key *k;
	size_t i, start;
	int line;

	buf_printf(out, "account %s", a->name != NULL ? a->name : "");
	if (a->file != NULL && a->line > 0)
		buf_printf(out, " (%s:%d)", a->file, a->line);
	buf_adds(out, "\n");
	for (i = 0; i < NKEYS; i++) {
		k = &conf_keys[i];
		if (k->id == CONF_K_NONE || k->kind == KIND_UNSUPPORTED ||
		    strcmp(conf_key_name(k->id), k->name) != 0)
			continue;
		start = out->len;
		buf_printf(out, "  %s ", k->name);
		while (out->len - start < 26)
			buf_addc(out, ' ');
		conf_describe_value(a, k, out);
		line = a->lines[k->id];
		if (line > 0)
			buf_printf(out, "  (%s:%d)", a->file != NULL ? a->file :
			    "?", line);
		else if (line == CONF_FROM_CLI)
			buf_adds(out, "  (command line)");
		else if (line == CONF_FROM_ENV)
			buf_adds(out, "  (environment)");
		else
			buf_adds(out, "  (default)");
		buf_adds(out, "\n");
	}
}

/* ------------------------------------------------------------ subst */

/* The value a %-letter stands for, "" for an unknown letter. */
static const char *
conf_pct_value(struct conf_env *env, char ch, const char **what)
{
	switch (ch) {
	case 'U':
		*what = "user name";
		return env != NULL ? env->user : NULL;
	case 'H':
		*what = "host name";
		return env != NULL ? env->host : NULL;
	case 'C':
		*what = "canonical host name";
		return env != NULL ? conf_env_canon(env) : NULL;
	case 'M':
		*what = "mail name";
		return env != NULL ? conf_env_mailname(env) : NULL;
	}
	*what = NULL;
	return NULL;
}

int
conf_from_has_f(const char *from)
{
	const char *s;

	for (s = from; s != NULL && *s != '\0'; s++)
		if (*s == '%') {
			if (s[1] == 'F')
				return 1;
			if (s[1] == '\0')
				return 0;
			s++;
		}
	return 0;
}

char *
conf_from_expand(const char *from, const char *addr)
{
	struct buf out;
	const char *s;

	buf_init(&out, 0);
	for (s = from; *s != '\0'; s++) {
		if (*s == '%' && s[1] == 'F') {
			buf_adds(&out, addr);
			s++;
		} else if (*s == '%' && s[1] == '%') {
			buf_addc(&out, '%');
			s++;
		} else
			buf_addc(&out, *s);
	}
	return buf_detach(&out);
}

static int
conf_subst_pct(struct account *a, int id, struct conf_env *env,
    struct err *e)
{
	char **vp = conf_strp(a, id), *s;
	const char *val, *what;
	struct buf out;
	int keep_f;

	if (*vp == NULL || strchr(*vp, '%') == NULL)
		return 0;
	/* %F is the message's: it and %% stay for conf_from_expand. */
	keep_f = id == CONF_K_FROM && conf_from_has_f(*vp);
	buf_init(&out, CONF_SUBST_MAX);
	for (s = *vp; *s != '\0'; s++) {
		if (*s != '%') {
			if (buf_addc(&out, *s) == -1)
				goto toolong;
			continue;
		}
		s++;
		if (keep_f && (*s == 'F' || *s == '%')) {
			if (buf_addc(&out, '%') == -1 ||
			    buf_addc(&out, *s) == -1)
				goto toolong;
			continue;
		}
		if (*s == '%') {
			if (buf_addc(&out, '%') == -1)
				goto toolong;
			continue;
		}
		val = conf_pct_value(env, *s, &what);
		if (what == NULL) {
			buf_release(&out);
			if (*s == '\0')
				return err_set(e, ERR_CONFIG, "%s:%d: account "
				    "'%s': lone '%%' at the end of key '%s' "
				    "(write %%%% for a percent sign)",
				    a->file, a->line, a->name,
				    conf_key_name(id));
			return err_set(e, ERR_CONFIG, "%s:%d: account '%s': "
			    "unknown substitution '%%%c' in key '%s'",
			    a->file, a->line, a->name, *s,
			    conf_key_name(id));
		}
		if (val == NULL) {
			buf_release(&out);
			return err_set(e, ERR_CONFIG, "%s:%d: account '%s': "
			    "cannot substitute '%%%c' in key '%s': the %s "
			    "is not known", a->file, a->line, a->name, *s,
			    conf_key_name(id), what);
		}
		if (buf_adds(&out, val) == -1)
			goto toolong;
	}
	free(*vp);
	*vp = buf_detach(&out);
	return 0;
toolong:
	buf_release(&out);
	return err_set(e, ERR_CONFIG, "%s:%d: account '%s': key '%s' is "
	    "longer than %d bytes after substitution", a->file, a->line,
	    a->name, conf_key_name(id), CONF_SUBST_MAX);
}

/* A leading "~" or "~/" becomes the home directory; "~user" stays. */
static int
conf_subst_tilde(struct account *a, int id, struct conf_env *env,
    struct err *e)
{
	char **vp = conf_strp(a, id), *nv;
	const char *home, *rest;
	size_t hl;

	if (*vp == NULL || (*vp)[0] != '~' ||
	    ((*vp)[1] != '\0' && (*vp)[1] != '/'))
		return 0;
	home = env != NULL ? env->home : NULL;
	if (home == NULL || *home == '\0')
		return err_set(e, ERR_CONFIG, "%s:%d: account '%s': cannot "
		    "expand '~' in key '%s': no home directory", a->file,
		    a->line, a->name, conf_key_name(id));
	rest = *vp + 1;
	hl = strlen(home);
	/* HOME=/ and "~/x" make "/x", not "//x". */
	if (hl > 0 && home[hl - 1] == '/' && *rest == '/')
		rest++;
	nv = xasprintf("%s%s", home, rest);
	free(*vp);
	*vp = nv;
	return 0;
}

int
conf_subst(struct conf *c, struct conf_env *env, struct err *e)
{
	struct account *a;
	size_t i;
	int id;

	for (i = 0; i < c->naccounts; i++) {
		a = c->accounts[i];
		for (id = 0; id < CONF_K_MAX; id++) {
			if (conf_fields[id].sub == SUB_PCT &&
			    conf_subst_pct(a, id, env, e) == -1)
				return -1;
			if (conf_fields[id].sub == SUB_TILDE &&
			    conf_subst_tilde(a, id, env, e) == -1)
				return -1;
		}
		/* msmtp's obsolete auto_from replaces from: user@maildomain,
		   or the user name alone without a maildomain. */
		if (a->auto_from) {
			if (env == NULL || env->user == NULL)
				return err_set(e, ERR_CONFIG, "%s:%d: account "
				    "'%s': auto_from needs the user name, and "
				    "it is not known", a->file, a->line,
				    a->name);
			free(a->from);
			a->from = a->maildomain != NULL ?
			    xasprintf("%s@%s", env->user, a->maildomain) :
			    xstrdup(env->user);
			KS_ADD(&a->set, CONF_K_FROM);
			a->lines[CONF_K_FROM] = a->lines[CONF_K_AUTO_FROM];
		}
	}
	return 0;
}

/* ------------------------------------------------------------ accounts */

struct account *
conf_account(const struct conf *c, const char *name)
{
	size_t i;

	if (c == NULL || name == NULL)
		return NULL;
	for (i = 0; i < c->naccounts; i++)
		if (strcmp(c->accounts[i]->name, name) == 0)
			return c->accounts[i];
	return NULL;
}

/* The first account whose from equals addr, else matches it as a pattern. */
static struct account *
conf_match_from(const struct conf *c, const char *addr)
{
	char *pat, *lower;
	size_t i;
	struct account *hit = NULL;

	for (i = 0; i < c->naccounts; i++)
		if (c->accounts[i]->from != NULL &&
		    strcasecmp(c->accounts[i]->from, addr) == 0)
			return c->accounts[i];
	lower = str_lower(xstrdup(addr));
	for (i = 0; i < c->naccounts && hit == NULL; i++) {
		if (c->accounts[i]->from == NULL)
			continue;
		pat = str_lower(xstrdup(c->accounts[i]->from));
		if (fnmatch(pat, lower, 0) == 0)
			hit = c->accounts[i];
		free(pat);
	}
	free(lower);
	return hit;
}

struct account *
conf_account_for_from(const struct conf *c, const char *addr)
{
	struct account *a;
	const char *plus, *at;
	char *bare;

	if (c == NULL || addr == NULL || *addr == '\0')
		return NULL;
	if ((a = conf_match_from(c, addr)) != NULL)
		return a;
	/* local+tag@domain is tried as local@domain. */
	at = strrchr(addr, '@');
	plus = strchr(addr, '+');
	if (at == NULL || plus == NULL || plus > at || plus == addr)
		return NULL;
	bare = xasprintf("%.*s%s", (int)(plus - addr), addr, at);
	a = conf_match_from(c, bare);
	free(bare);
	return a;
}

void
conf_merge(struct conf *user, struct conf *sys)
{
	struct account **v;
	size_t i, n = 0;

	v = xreallocarray(NULL, sys->naccounts + user->naccounts + 1,
	    sizeof(*v));
	for (i = 0; i < sys->naccounts; i++) {
		if (conf_account(user, sys->accounts[i]->name) != NULL)
			conf_account_free(sys->accounts[i]);
		else
			v[n++] = sys->accounts[i];
	}
	for (i = 0; i < user->naccounts; i++)
		v[n++] = user->accounts[i];
	free(user->accounts);
	user->accounts = v;
	user->naccounts = n;
	user->notes = xreallocarray(user->notes, user->nnotes + sys->nnotes +
	    1, sizeof(*user->notes));
	memmove(user->notes + sys->nnotes, user->notes, user->nnotes *
	    sizeof(*user->notes));
	for (i = 0; i < sys->nnotes; i++)
		user->notes[i] = sys->notes[i];
	user->nnotes += sys->nnotes;
	user->has_secret |= sys->has_secret;
	free(sys->accounts);
	free(sys->notes);
	free(sys->path);
	memset(sys, 0, sizeof(*sys));
}

char *
conf_describe_paths(void)
{
	const char *env = getenv("POSTHORN_CONFIG"), *xdg;
	char *home = conf_home(), *user, *out;

	xdg = getenv("XDG_CONFIG_HOME");
	if (xdg != NULL && xdg[0] == '/')
		user = xasprintf("%s/posthorn/config", xdg);
	else
		user = xasprintf("%s/.config/posthorn/config",
		    home != NULL ? home : "~");
	out = xasprintf("configuration: -C FILE, else $POSTHORN_CONFIG%s%s%s, "
	    "else the first of\n  %s\n  %s/.posthornrc\nwith the system "
	    "file below it: %s", env != NULL && *env != '\0' ? " (now " : "",
	    env != NULL && *env != '\0' ? env : "", env != NULL &&
	    *env != '\0' ? ")" : "", user, home != NULL ? home : "~",
	    SYSTEM_CONFIG);
	free(user);
	free(home);
	return out;
}

/* ------------------------------------------------------------ files */

/* $HOME, else the password database's home, else NULL; caller frees. */
static char *
conf_home(void)
{
	const char *h = getenv("HOME");
	struct passwd *pw;

	if (h != NULL && *h != '\0')
		return xstrdup(h);
	if ((pw = getpwuid(getuid())) != NULL && pw->pw_dir != NULL &&
	    *pw->pw_dir != '\0')
		return xstrdup(pw->pw_dir);
	return NULL;
}

/* 1 if path names something (or something stat cannot see into), else 0. */
static int
conf_exists(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 1;
	return errno != ENOENT && errno != ENOTDIR;
}

const char *conf_system_path = SYSTEM_CONFIG;

char *
conf_find(const char *cli_path, int *found, struct err *e)
{
	const char *env, *xdg;
	char *home, *path;

	*found = -1;
	if (cli_path != NULL) {
		if (!conf_exists(cli_path)) {
			err_set(e, ERR_NOINPUT, "cannot read configuration "
			    "file '%s': %s", cli_path, strerror(errno));
			return NULL;
		}
		*found = 1;
		return xstrdup(cli_path);
	}
	if ((env = getenv("POSTHORN_CONFIG")) != NULL && *env != '\0') {
		if (!conf_exists(env)) {
			err_set(e, ERR_CONFIG, "cannot read configuration "
			    "file '%s' (from POSTHORN_CONFIG): %s", env,
			    strerror(errno));
			return NULL;
		}
		*found = 1;
		return xstrdup(env);
	}
	*found = 1;
	home = conf_home();
	xdg = getenv("XDG_CONFIG_HOME");
	/* The XDG spec ignores a relative XDG_CONFIG_HOME. */
	if (xdg != NULL && xdg[0] == '/')
		path = xasprintf("%s/posthorn/config", xdg);
	else if (home != NULL)
		path = xasprintf("%s/.config/posthorn/config", home);
	else
		path = NULL;
	if (path != NULL && conf_exists(path))
		goto done;
	free(path);
	path = NULL;
	if (home != NULL) {
		path = xasprintf("%s/.posthornrc", home);
		if (conf_exists(path))
			goto done;
		free(path);
	}
	path = xstrdup(conf_system_path);
	if (conf_exists(path))
		goto done;
	free(path);
	path = NULL;
	*found = 0;
done:
	free(home);
	return path;
}

/* 1 when gid is the owner's own group, with no other member. */
static int
conf_private_group(uid_t owner, gid_t gid)
{
	struct passwd *pw;
	struct group *gr;
	char *name;
	int own;

	if ((pw = getpwuid(owner)) == NULL || pw->pw_gid != gid)
		return 0;
	name = xstrdup(pw->pw_name);
	own = (gr = getgrgid(gid)) != NULL && (gr->gr_mem[0] == NULL ||
	    (strcmp(gr->gr_mem[0], name) == 0 && gr->gr_mem[1] == NULL));
	free(name);
	return own;
}

int
conf_check_file(const struct stat *st, const char *what, const char *path,
    struct err *e)
{
	struct passwd *pw;
	struct group *gr;

	if (S_ISDIR(st->st_mode))
		return err_set(e, ERR_CONFIG, "refusing %s '%s': it is a "
		    "directory", what, path);
	if (!S_ISREG(st->st_mode))
		return err_set(e, ERR_CONFIG, "refusing %s '%s': it is not a "
		    "regular file (%s)", what, path, S_ISFIFO(st->st_mode) ?
		    "a FIFO" : S_ISSOCK(st->st_mode) ? "a socket" :
		    "a device");
	if (st->st_uid != geteuid() && st->st_uid != 0) {
		pw = getpwuid(st->st_uid);
		return err_set(e, ERR_CONFIG, "refusing %s '%s': it belongs "
		    "to %s%s%s (uid %lu), not to you or root, so its owner "
		    "could make posthorn run commands as you", what, path,
		    pw != NULL ? "user '" : "another user", pw != NULL ?
		    pw->pw_name : "", pw != NULL ? "'" : "",
		    (unsigned long)st->st_uid);
	}
	if (st->st_mode & S_IWOTH)
		return err_set(e, ERR_CONFIG, "refusing %s '%s': anyone can "
		    "write it (run chmod o-w '%s')", what, path, path);
	if ((st->st_mode & S_IWGRP) &&
	    !conf_private_group(st->st_uid, st->st_gid)) {
		gr = getgrgid(st->st_gid);
		return err_set(e, ERR_CONFIG, "refusing %s '%s': group %s%s%s "
		    "(gid %lu) can write it (run chmod g-w '%s')", what, path,
		    gr != NULL ? "'" : "", gr != NULL ? gr->gr_name : "",
		    gr != NULL ? "'" : "", (unsigned long)st->st_gid, path);
	}
	return 0;
}

int
conf_read_file(const char *path, const char *what, size_t max, int secret,
    enum err_kind kind, struct buf *b, struct stat *st, struct err *e)
{
	char chunk[8192];
	ssize_t r;
	int fd, saved, fl;

	if (secret)
		buf_init_secret(b, max + 1);
	else
		buf_init(b, max + 1);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1)
		return err_set(e, kind, "cannot read %s '%s': %s", what, path,
		    strerror(errno));
	if (fstat(fd, st) == -1)
		saved = errno;
	else
		saved = S_ISDIR(st->st_mode) ? EISDIR : 0;
	if (saved != 0) {
		close(fd);
		return err_set(e, kind, "cannot read %s '%s': %s", what, path,
		    strerror(saved));
	}
	if (conf_check_file(st, what, path, e) == -1) {
		close(fd);
		return -1;
	}
	if ((fl = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	while ((r = fsio_read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_add(b, chunk, (size_t)r) == -1)
			break;
	saved = errno;
	close(fd);
	wipe(chunk, sizeof(chunk));
	if (r == -1) {
		buf_release(b);
		return err_set(e, kind, "cannot read %s '%s': %s", what, path,
		    strerror(saved));
	}
	if (r > 0 || b->len > max) {
		buf_release(b);
		return err_set(e, ERR_CONFIG, "%s '%s' is larger than %zu "
		    "bytes", what, path, max);
	}
	return 0;
}

/*
 * Reads (conf_read_file) and parses the configuration file at path.  The
 * bytes are held in a secret buffer; the readable-password rule applies
 * to the file that was opened.
 */
static int
conf_read(struct conf *c, const char *path, enum err_kind kind,
    struct err *e)
{
	struct stat st;
	struct buf b;
	int rc;

	memset(c, 0, sizeof(*c));
	if (conf_read_file(path, "configuration file", CONF_FILE_MAX, 1, kind,
	    &b, &st, e) == -1)
		return -1;
	rc = conf_parse_eval(c, b.data != NULL ? b.data : "", b.len, path,
	    evalcmd_line, e);
	buf_release(&b);
	if (rc == -1)
		return -1;
	/* Group-readable is right for the system file of a setgid install
	   (root:posthorn 0640): only that group, which only the setgid
	   path holds, can read it. */
	if (c->has_secret && ((st.st_mode & S_IROTH) ||
	    ((st.st_mode & S_IRGRP) && !privsep_raised_group(st.st_gid)))) {
		conf_free(c);
		return err_set(e, ERR_CONFIG, "refusing '%s': it holds a "
		    "password and group or others can read it (run chmod 600 "
		    "'%s')", path, path);
	}
	return 0;
}

int
conf_load(struct conf *c, const char *path, int from_cli,
    struct conf_env *env, struct err *e)
{
	size_t i;

	/* The file may hold a password: no core file from here on. */
	(void)secmem_protect();
	if (conf_read(c, path, from_cli ? ERR_NOINPUT : ERR_CONFIG, e) == -1) {
		secmem_scrub_stack();
		return -1;
	}
	/* Passwords are read again when AUTH needs one (conf_password). */
	for (i = 0; i < c->naccounts; i++)
		if (c->accounts[i]->password != NULL) {
			wipe_free(c->accounts[i]->password);
			c->accounts[i]->password = NULL;
			c->accounts[i]->password_in_file = 1;
		}
	secmem_scrub_stack();
	c->path = xstrdup(path);
	if (conf_subst(c, env, e) == -1) {
		conf_free(c);
		return -1;
	}
	return 0;
}

int
conf_password(const struct account *a, char **pw, struct err *e)
{
	struct account *again;
	struct conf c;

	*pw = NULL;
	if (a->file == NULL || a->name == NULL)
		return err_set(e, ERR_CONFIG, "no password for account '%s'",
		    a->name != NULL ? a->name : "");
	(void)secmem_protect();
	if (conf_read(&c, a->file, ERR_CONFIG, e) == -1)
		return err_prefix(e, "reading the password again: ");
	if ((again = conf_account(&c, a->name)) == NULL ||
	    again->password == NULL) {
		conf_free(&c);
		return err_set(e, ERR_CONFIG, "%s no longer holds a password "
		    "for account '%s' (it changed while posthorn ran)",
		    a->file, a->name);
	}
	*pw = xstrdup(again->password);
	conf_free(&c);
	secmem_scrub_stack();
	return 0;
}

/* ------------------------------------------------------------ env */

/* s if it is a usable one-word value, else NULL; copies it. */
static char *
conf_env_word(const char *s)
{
	if (s == NULL || *s == '\0' || str_has_ctl(s) ||
	    strpbrk(s, " \t") != NULL)
		return NULL;
	return xstrdup(s);
}

/* The first line of /etc/mailname; NULL when it is empty, not one word,
   or longer than a domain name can be (never a name cut short). */
static char *
conf_env_mailname_file(void)
{
	char raw[1024];
	size_t n;
	ssize_t r;
	int fd;

	if ((fd = open("/etc/mailname", O_RDONLY | O_CLOEXEC | O_NONBLOCK)) ==
	    -1)
		return NULL;
	r = fsio_read(fd, raw, sizeof(raw) - 1);
	close(fd);
	if (r <= 0)
		return NULL;
	raw[r] = '\0';
	n = strcspn(raw, "\r\n");
	if (raw[n] == '\0' && (size_t)r == sizeof(raw) - 1)
		return NULL;
	raw[n] = '\0';
	return conf_env_word(str_trim(raw));
}

static char *
conf_env_canon_lookup(const char *host)
{
	struct addrinfo hints, *res = NULL;
	char *canon = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_CANONNAME;
	if (getaddrinfo(host, NULL, &hints, &res) == 0 && res != NULL)
		canon = conf_env_word(res->ai_canonname);
	if (res != NULL)
		freeaddrinfo(res);
	return canon;
}

void
conf_env_init(struct conf_env *env)
{
	char hostbuf[256], *home;
	struct passwd *pw;
	char *user = NULL, *host;

	memset(env, 0, sizeof(*env));
	if ((pw = getpwuid(getuid())) != NULL)
		user = conf_env_word(pw->pw_name);
	if (user == NULL)
		user = conf_env_word(getenv("USER"));
	if (user == NULL)
		user = conf_env_word(getenv("LOGNAME"));
	host = NULL;
	if (gethostname(hostbuf, sizeof(hostbuf)) == 0) {
		hostbuf[sizeof(hostbuf) - 1] = '\0';
		host = conf_env_word(hostbuf);
	}
	home = conf_home();
	env->user = user;
	env->host = host;
	env->home = home;
}

/* Fills canon and mailname once. */
static void
conf_env_lookup(struct conf_env *env)
{
	char *canon, *mailname;

	if (env->looked_up)
		return;
	env->looked_up = 1;
	if (env->canon == NULL) {
		canon = env->host != NULL ? conf_env_canon_lookup(env->host) :
		    NULL;
		if (canon == NULL && env->host != NULL)
			canon = xstrdup(env->host);
		env->canon = canon;
	}
	if (env->mailname == NULL) {
		mailname = conf_env_mailname_file();
		if (mailname == NULL && env->canon != NULL)
			mailname = xstrdup(env->canon);
		env->mailname = mailname;
	}
}

const char *
conf_env_canon(struct conf_env *env)
{
	conf_env_lookup(env);
	return env->canon;
}

const char *
conf_env_mailname(struct conf_env *env)
{
	conf_env_lookup(env);
	return env->mailname;
}

/* A dotted host name fit for EHLO: LDH labels, none empty. */
static int
conf_env_fqdn(const char *s)
{
	const char *p;
	int dots = 0;

	if (s == NULL || *s == '.' || *s == '\0' || strlen(s) > 253)
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p == '.') {
			if (p[1] == '.' || p[1] == '\0')
				return 0;
			dots++;
		} else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
		    *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
	}
	return dots > 0;
}

const char *
conf_env_ehlo(struct conf_env *env)
{
	const char *name;

	if (env == NULL)
		return "localhost";
	if (conf_env_fqdn(name = conf_env_mailname(env)))
		return name;
	if (conf_env_fqdn(name = conf_env_canon(env)))
		return name;
	return "localhost";
}

void
conf_env_release(struct conf_env *env)
{
	free((char *)(uintptr_t)env->user);
	free((char *)(uintptr_t)env->host);
	free((char *)(uintptr_t)env->canon);
	free((char *)(uintptr_t)env->mailname);
	free((char *)(uintptr_t)env->home);
	memset(env, 0, sizeof(*env));
}

static void
conf_local_add(struct strv *out, const char *name)
{
	char *low;

	if (name == NULL || !conf_domain_word(name, strlen(name)))
		return;
	low = str_lower(xstrdup(name));
	if (strv_has(out, low))
		free(low);
	else
		strv_take(out, low);
}

void
conf_local_domains(const struct account *a, struct conf_env *env,
    struct strv *out)
{
	const char *s;
	size_t n;
	char *word;

	if (a != NULL && a->local_domains != NULL) {
		for (s = a->local_domains; *s != '\0'; s += n) {
			s += strspn(s, " ");
			n = strcspn(s, " ");
			if (n == 0)
				break;
			word = xstrndup(s, n);
			conf_local_add(out, word);
			free(word);
		}
		return;
	}
	conf_local_add(out, "localhost");
	conf_local_add(out, "localhost.localdomain");
	if (env != NULL) {
		conf_local_add(out, env->host);
		/* Known already, or looked up when an address needs it
		   (conf_local_fqdn). */
		if (env->looked_up)
			conf_local_add(out, env->canon);
	}
}

int
conf_local_fqdn(const struct account *a, struct conf_env *env,
    const char *domain, size_t n)
{
	const char *canon;
	size_t hl;

	if (env == NULL || env->host == NULL || env->looked_up ||
	    (a != NULL && a->local_domains != NULL))
		return 0;
	hl = strlen(env->host);
	if (n <= hl + 1 || strncasecmp(domain, env->host, hl) != 0 ||
	    domain[hl] != '.')
		return 0;
	canon = conf_env_canon(env);
	return canon != NULL && strlen(canon) == n &&
	    strncasecmp(canon, domain, n) == 0;
}
