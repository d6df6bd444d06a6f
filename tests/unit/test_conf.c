/*
 * test_conf: the configuration parser, its key table, inheritance,
 * substitutions, account choice by sender, and the file rules (lookup
 * order, permission refusal).  Tables of rows; one row, one check.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "err.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/strv.h"
#include "t.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

#ifndef SYSTEM_CONFIG
#define SYSTEM_CONFIG	"/etc/posthorn.conf"
#endif

/* The fixed environment every substitution test uses. */
/* 1 when the two key sets share a key. */
static int
keyset_meets(const struct conf_keyset *a, const struct conf_keyset *b)
{
	size_t i;

	for (i = 0; i < sizeof(a->w) / sizeof(a->w[0]); i++)
		if (a->w[i] & b->w[i])
			return 1;
	return 0;
}

static struct conf_env tenv = {
	.looked_up = 1,
	.user = "alice",
	.host = "box",
	.canon = "box.example.net",
	.mailname = "example.org",
	.home = "/home/alice",
};

/* ------------------------------------------------------------ helpers */

enum ftype { S, I, FP };

static const struct {
	const char	*name;
	enum ftype	 type;
	size_t		 off;
} fields[] = {
#define FS(m)	{ #m, S, offsetof(struct account, m) }
#define FI(m)	{ #m, I, offsetof(struct account, m) }
	FS(name), FS(file), FS(host), FI(port), FS(from), FS(from_full_name),
	FS(domain), FI(auth), FS(auth_mech), FS(user), FS(password),
	FS(passwordeval), FI(tls), FI(tls_starttls), FS(tls_trust_file),
	FS(tls_crl_file), FI(tls_certcheck),
	{ "tls_fingerprint", FP, 0 },
	FS(tls_cert_file), FS(tls_key_file), FS(tls_priorities),
	FS(tls_host_override), FI(timeout), FS(source_ip), FS(dsn_notify),
	FS(dsn_return), FS(logfile), FS(logfile_time_format), FS(syslog),
	FS(aliases), FI(set_from_header), FI(set_date_header),
	FI(remove_bcc_headers), FI(set_to_header), FI(set_msgid_header),
	FI(allow_from_override), FI(queue), FS(queue_dir), FI(queue_lifetime),
	FI(session_timeout), FI(tls_min_dh_prime_bits), FI(auto_from),
	FS(maildomain),
	FI(queue_runner), FI(queue_backoff),
	FI(bounce), FS(bounce_to),
	FI(scram_max_iterations), FI(command_timeout), FI(password_in_file),
	FI(line), FI(protocol), FS(socket), FS(proxy_host), FI(proxy_port),
	FS(proxy_user), FS(proxy_password),
	FI(persist), FI(max_connections),
	FS(local_domains), FS(admin),
	FI(line),
#undef FS
#undef FI
};

/*
 * Renders field `name` of a as text: strings as is ("(null)" for NULL),
 * numbers in decimal, a fingerprint as "LEN:HEX".
 */
static const char *
field(const struct account *a, const char *name, char *out, size_t outsz)
{
	const char *base = (const char *)a;
	size_t i, j;

	if (a == NULL)
		return "(no account)";
	for (i = 0; i < N(fields); i++) {
		if (strcmp(fields[i].name, name) != 0)
			continue;
		switch (fields[i].type) {
		case S: {
			const char *s = *(char *const *)(const void *)
			    (base + fields[i].off);

			snprintf(out, outsz, "%s", s ? s : "(null)");
			return out;
		}
		case I:
			snprintf(out, outsz, "%d",
			    *(const int *)(const void *)(base +
			    fields[i].off));
			return out;
		case FP:
			snprintf(out, outsz, "%zu:", a->tls_fingerprint_len);
			for (j = 0; j < a->tls_fingerprint_len; j++)
				snprintf(out + strlen(out),
				    outsz - strlen(out), "%02X",
				    a->tls_fingerprint[j]);
			return out;
		}
	}
	return "(no such field)";
}

/* s with control characters escaped, for one TAP line (two slots). */
static const char *
esc(const char *s)
{
	static char bufs[2][128];
	static int slot;
	char *out = bufs[slot ^= 1];
	size_t o = 0;

	for (; *s != '\0' && o + 5 < sizeof(bufs[0]); s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\n')
			o += (size_t)snprintf(out + o, 3, "\\n");
		else if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(out + o, 5, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
	return out;
}

static int
parse(struct conf *c, const char *text, struct err *e)
{
	err_clear(e);
	return conf_parse(c, text, strlen(text), "t.conf", e);
}

/* Parses "account a\n" + lines. */
static int
parse_a(struct conf *c, const char *lines, struct err *e)
{
	char *text = xasprintf("account a\n%s", lines);
	int rc = parse(c, text, e);

	free(text);
	return rc;
}

/* ------------------------------------------------------------ keys */

/* One key line (after "account a") and the value it leaves. */
static const struct {
	const char	*lines;
	const char	*field;
	const char	*want;
} good[] = {
	/* posthorn's defaults */
	{ "", "tls", "1" },
	{ "", "tls_starttls", "1" },
	{ "", "tls_certcheck", "1" },
	{ "", "tls_trust_file", "system" },
	{ "", "auth", "0" },
	{ "", "auth_mech", "(null)" },
	{ "", "domain", "(null)" },		/* conf_env_ehlo */
	{ "", "set_from_header", "0" },		/* SETFROM_AUTO */
	{ "", "set_date_header", "1" },
	{ "", "remove_bcc_headers", "1" },
	{ "", "set_to_header", "0" },
	{ "", "allow_from_override", "1" },
	{ "", "queue", "1" },
	{ "", "queue_lifetime", "432000" },
	{ "", "queue_runner", "1" },
	{ "", "queue_backoff", "60" },
	{ "", "bounce", "1" },
	{ "", "bounce_to", "(null)" },
	{ "", "session_timeout", "1200" },
	{ "", "scram_max_iterations", "100000" },
	{ "", "command_timeout", "120" },
	{ "", "persist", "0" },
	{ "", "max_connections", "2" },
	{ "", "port", "0" },
	{ "", "timeout", "0" },
	{ "", "syslog", "(null)" },
	{ "", "tls_fingerprint", "0:" },
	{ "", "name", "a" },
	{ "", "line", "1" },
	/* strings */
	{ "host smtp.example.org\n", "host", "smtp.example.org" },
	{ "from alice@example.org\n", "from", "alice@example.org" },
	{ "from\n", "from", "(null)" },
	{ "from_full_name Alice Liddell\n", "from_full_name",
	    "Alice Liddell" },
	{ "domain mail.example.org\n", "domain", "mail.example.org" },
	{ "domain\n", "domain", "(null)" },
	{ "user alice\n", "user", "alice" },
	{ "user\n", "user", "(null)" },
	{ "password s3cret\n", "password", "s3cret" },
	{ "password\n", "password", "(null)" },
	{ "passwordeval \"pass show smtp/work\"\n", "passwordeval",
	    "pass show smtp/work" },
	{ "tls_priorities NORMAL:-VERS-TLS1.0\n", "tls_priorities",
	    "NORMAL:-VERS-TLS1.0" },
	{ "tls_host_override mx.example.org\n", "tls_host_override",
	    "mx.example.org" },
	{ "logfile_time_format %Y-%m-%d\n", "logfile_time_format",
	    "%Y-%m-%d" },
	/* paths (no ~ before conf_subst) */
	{ "logfile ~/log\n", "logfile", "~/log" },
	{ "logfile -\n", "logfile", "-" },
	{ "logfile\n", "logfile", "(null)" },
	{ "aliases /etc/aliases\n", "aliases", "/etc/aliases" },
	{ "queue_dir /var/q\n", "queue_dir", "/var/q" },
	{ "tls_crl_file /etc/crl.pem\n", "tls_crl_file", "/etc/crl.pem" },
	{ "tls_cert_file c.pem\n", "tls_cert_file", "c.pem" },
	{ "tls_key_file k.pem\n", "tls_key_file", "k.pem" },
	{ "tls_trust_file /etc/ca.pem\n", "tls_trust_file", "/etc/ca.pem" },
	{ "tls_trust_file system\n", "tls_trust_file", "system" },
	{ "tls_trust_file\n", "tls_trust_file", "" },
	/* port, timeout */
	{ "port 587\n", "port", "587" },
	{ "port 1\n", "port", "1" },
	{ "port 65535\n", "port", "65535" },
	{ "timeout 30\n", "timeout", "30" },
	{ "queue_lifetime 3600\n", "queue_lifetime", "3600" },
	{ "queue_lifetime 12h\n", "queue_lifetime", "43200" },
	{ "queue_lifetime 2d\n", "queue_lifetime", "172800" },
	{ "queue_lifetime 90m\n", "queue_lifetime", "5400" },
	{ "scram_max_iterations 4096\n", "scram_max_iterations", "4096" },
	{ "persist 10\n", "persist", "10" },
	{ "persist 5m\n", "persist", "300" },
	{ "persist off\n", "persist", "0" },
	{ "persist 0\n", "persist", "0" },
	{ "max_connections 1\n", "max_connections", "1" },
	{ "max_connections 64\n", "max_connections", "64" },
	{ "scram_max_iterations 2147483647\n", "scram_max_iterations",
	    "2147483647" },
	{ "command_timeout 5\n", "command_timeout", "5" },
	{ "local_domains LocalHost, box.Example.test\tx-1.example\n",
	    "local_domains", "localhost box.example.test x-1.example" },
	{ "local_domains a.example\nlocal_domains\n", "local_domains",
	    "(null)" },
	{ "admin ops@example.net\n", "admin", "ops@example.net" },
	{ "admin ops@example.net\nadmin\n", "admin", "(null)" },
	{ "command_timeout off\n", "command_timeout", "0" },
	{ "", "protocol", "0" },
	{ "protocol lmtp\n", "protocol", "1" },
	{ "protocol LMTP\nprotocol smtp\n", "protocol", "0" },
	{ "socket /run/lmtp\n", "socket", "/run/lmtp" },
	{ "socket /run/lmtp\nsocket\n", "socket", "(null)" },
	{ "proxy_host 127.0.0.1\n", "proxy_host", "127.0.0.1" },
	{ "", "proxy_port", "0" },
	{ "proxy_port 9050\n", "proxy_port", "9050" },
	{ "proxy_port 9050\nproxy_port\n", "proxy_port", "0" },
	{ "proxy_user tor\n", "proxy_user", "tor" },
	{ "proxy_password s3cret\n", "proxy_password", "s3cret" },
	{ "password x\n", "password_in_file", "0" },	/* conf_load's */
	{ "timeout off\n", "timeout", "0" },
	{ "timeout 30\ntimeout off\n", "timeout", "0" },
	{ "connect_timeout 12\n", "timeout", "12" },
	{ "session_timeout 90\n", "session_timeout", "90" },
	{ "session_timeout 30m\n", "session_timeout", "1800" },
	{ "session_timeout 2h\n", "session_timeout", "7200" },
	{ "session_timeout 45s\n", "session_timeout", "45" },
	{ "session_timeout OFF\n", "session_timeout", "0" },
	{ "session_timeout 2147483\n", "session_timeout", "2147483" },
	/* booleans, empty = on */
	{ "tls off\n", "tls", "0" },
	{ "tls off\ntls\n", "tls", "1" },
	{ "tls OFF\n", "tls", "0" },
	{ "tls_starttls off\n", "tls_starttls", "0" },
	{ "tls_certcheck off\n", "tls_certcheck", "0" },
	{ "remove_bcc_headers off\n", "remove_bcc_headers", "0" },
	{ "undisclosed_recipients on\n", "set_to_header", "2" },
	{ "undisclosed_recipients\n", "set_to_header", "2" },
	{ "allow_from_override off\n", "allow_from_override", "0" },
	/* msmtp 1.8.33's keys */
	{ "", "set_msgid_header", "1" },
	{ "set_msgid_header off\n", "set_msgid_header", "0" },
	{ "set_msgid_header off\nset_msgid_header\n", "set_msgid_header",
	    "1" },
	{ "set_msgid_header auto\n", "set_msgid_header", "1" },
	{ "set_to_header on\n", "set_to_header", "1" },
	{ "set_to_header\n", "set_to_header", "1" },
	{ "set_to_header undisclosed_recipients\n", "set_to_header", "2" },
	{ "set_to_header on\nset_to_header off\n", "set_to_header", "0" },
	{ "", "tls_min_dh_prime_bits", "0" },
	{ "tls_min_dh_prime_bits 512\n", "tls_min_dh_prime_bits", "512" },
	{ "tls_min_dh_prime_bits 512\ntls_min_dh_prime_bits\n",
	    "tls_min_dh_prime_bits", "0" },
	{ "auto_from on\n", "auto_from", "1" },
	{ "auto_from\n", "auto_from", "1" },
	{ "auto_from off\n", "auto_from", "0" },
	{ "maildomain example.org\n", "maildomain", "example.org" },
	{ "maildomain\n", "maildomain", "(null)" },
	{ "ntlmdomain CORP\n", "host", "(null)" },
	{ "auth ntlm\n", "auth_mech", "NTLM" },
	{ "logfile_time_format none\n", "logfile_time_format", "none" },
	{ "from %F\n", "from", "%F" },
	{ "queue off\n", "queue", "0" },
	{ "queue_runner off\n", "queue_runner", "0" },
	{ "queue_backoff 5m\n", "queue_backoff", "300" },
	{ "bounce off\n", "bounce", "0" },
	{ "bounce_to root@example.org\n", "bounce_to", "root@example.org" },
	{ "bounce_to <postmaster@example.net>\n", "bounce_to",
	    "postmaster@example.net" },
	/* auth */
	{ "auth on\n", "auth", "1" },
	{ "auth\n", "auth", "1" },
	{ "auth on\n", "auth_mech", "(null)" },
	{ "auth plain\n", "auth", "1" },
	{ "auth plain\n", "auth_mech", "PLAIN" },
	{ "auth scram-sha-256\n", "auth_mech", "SCRAM-SHA-256" },
	{ "auth xoauth2\n", "auth_mech", "XOAUTH2" },
	{ "auth login\nauth off\n", "auth_mech", "(null)" },
	{ "auth login\nauth off\n", "auth", "0" },
	/* fingerprint */
	{ "tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	    "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff\n",
	    "tls_fingerprint", "32:00112233445566778899AABBCCDDEEFF"
	    "00112233445566778899AABBCCDDEEFF" },
	{ "tls_fingerprint 01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
	    "01:23:45:67\n", "tls_fingerprint",
	    "20:0123456789ABCDEF0123456789ABCDEF01234567" },
	{ "tls_fingerprint 01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
	    "01:23:45:67\ntls_fingerprint\n", "tls_fingerprint", "0:" },
	/* source_ip */
	{ "source_ip 192.0.2.1\n", "source_ip", "192.0.2.1" },
	{ "source_ip 2001:db8::1\n", "source_ip", "2001:db8::1" },
	{ "source_ip\n", "source_ip", "(null)" },
	/* dsn */
	{ "dsn_notify never\n", "dsn_notify", "never" },
	{ "dsn_notify off\n", "dsn_notify", "(null)" },
	{ "dsn_notify failure\n", "dsn_notify", "failure" },
	{ "dsn_notify delay,success\n", "dsn_notify", "success,delay" },
	{ "dsn_notify FAILURE, delay\n", "dsn_notify", "failure,delay" },
	{ "dsn_notify success,failure,delay\n", "dsn_notify",
	    "success,failure,delay" },
	{ "dsn_return headers\n", "dsn_return", "headers" },
	{ "dsn_return hdrs\n", "dsn_return", "headers" },
	{ "dsn_return full\n", "dsn_return", "full" },
	{ "dsn_return full\ndsn_return off\n", "dsn_return", "(null)" },
	/* syslog */
	{ "syslog on\n", "syslog", "LOG_MAIL" },
	{ "syslog\n", "syslog", "LOG_MAIL" },
	{ "syslog on\nsyslog off\n", "syslog", "(null)" },
	{ "syslog LOG_USER\n", "syslog", "LOG_USER" },
	{ "syslog LOG_LOCAL7\n", "syslog", "LOG_LOCAL7" },
	{ "syslog log_local0\n", "syslog", "LOG_LOCAL0" },
	/* header policies */
	{ "set_from_header on\n", "set_from_header", "1" },
	{ "set_from_header off\n", "set_from_header", "2" },
	{ "set_from_header off\nset_from_header auto\n", "set_from_header",
	    "0" },
	{ "set_from_header\n", "set_from_header", "1" },
	{ "set_date_header off\n", "set_date_header", "0" },
	{ "set_date_header off\nset_date_header auto\n", "set_date_header",
	    "1" },
	/* protocol */
	{ "protocol smtp\nhost h\n", "host", "h" },
	/* old spellings */
	{ "tls_nocertcheck\n", "tls_certcheck", "0" },
	{ "tls_nostarttls\n", "tls_starttls", "0" },
	{ "add_missing_from_header off\n", "set_from_header", "2" },
	{ "add_missing_from_header off\nadd_missing_from_header on\n",
	    "set_from_header", "0" },
	{ "add_missing_date_header off\n", "set_date_header", "0" },
	{ "add_missing_date_header\n", "set_date_header", "1" },
	{ "keepbcc on\n", "remove_bcc_headers", "0" },
	/* quoting, blanks, comments */
	{ "from \"  a@b  \"\n", "from", "  a@b  " },
	{ "password \"p#ss word\"\n", "password", "p#ss word" },
	{ "password p#ss\n", "password", "p#ss" },
	{ "password \"a\"b\"\n", "password", "a\"b" },
	{ "password \"\"\n", "password", "(null)" },
	{ "user \"\n", "user", "\"" },
	{ "user \"x\n", "user", "\"x" },
	{ "host \t smtp.example.org \t\n", "host", "smtp.example.org" },
	{ "\t  host indented\n", "host", "indented" },
	{ "# host commented\nhost real\n", "host", "real" },
	{ "   # indented comment\nhost real\n", "host", "real" },
	{ "\n\n\t\nhost after-blank-lines\n", "host", "after-blank-lines" },
	{ "host crlf\r\n", "host", "crlf" },
	{ "host no-final-newline", "host", "no-final-newline" },
	{ "from Zoë <z@example.org>\n", "from", "Zoë <z@example.org>" },
	{ "user a b  c\n", "user", "a b  c" },
	{ "tls_trust_file \"\"\n", "tls_trust_file", "" },
};

/* Lines (after "account a") that must fail, and the exact message. */
static const struct {
	const char	*lines;
	const char	*want;
} bad[] = {
	{ "hots x\n", "t.conf:2: unknown key (did you mean 'host'?)" },
	{ "Host x\n", "t.conf:2: unknown key (did you mean 'host'?)" },
	{ "\n# c\nfoo\n", "t.conf:4: unknown key: the line does not start "
	    "with a key posthorn knows (see posthorn.conf(5))" },
	{ "tls_startls on\n",
	    "t.conf:2: unknown key (did you mean 'tls_starttls'?)" },
	{ "scram_max_iterations 0\n", "t.conf:2: invalid value '0' for key "
	    "'scram_max_iterations': not a number from 1 to 2147483647" },
	{ "scram_max_iterations 2147483648\n", "t.conf:2: invalid value "
	    "'2147483648' for key 'scram_max_iterations': not a number from "
	    "1 to 2147483647" },
	{ "scram_max_iterations\n",
	    "t.conf:2: key 'scram_max_iterations' needs a value" },
	{ "persist soon\n", "t.conf:2: invalid value 'soon' for key "
	    "'persist': not a duration like 5d, 12h, 30m or 3600" },
	{ "max_connections 0\n", "t.conf:2: invalid value '0' for key "
	    "'max_connections': not a number from 1 to 64" },
	{ "max_connections 65\n", "t.conf:2: invalid value '65' for key "
	    "'max_connections': not a number from 1 to 64" },
	{ "local_domains a..example\n", "t.conf:2: invalid value "
	    "'a..example' for key 'local_domains': not a list of domain "
	    "names" },
	{ "local_domains user@localhost\n", "t.conf:2: invalid value "
	    "'user@localhost' for key 'local_domains': not a list of domain "
	    "names" },
	{ "admin root\n", "t.conf:2: invalid value 'root' for key 'admin': "
	    "not an address (user@domain)" },
	{ "admin a@b.example, c@d.example\n", "t.conf:2: invalid value "
	    "'a@b.example, c@d.example' for key 'admin': not an address "
	    "(user@domain)" },
	{ "command_timeout 1s\n", "t.conf:2: invalid value '1s' for key "
	    "'command_timeout': not off or a number of seconds" },
	{ "set_msgid_header on\n", "t.conf:2: invalid value 'on' for key "
	    "'set_msgid_header': not auto or off" },
	{ "set_to_header auto\n", "t.conf:2: invalid value 'auto' for key "
	    "'set_to_header': not on, off or undisclosed_recipients" },
	{ "tls_min_dh_prime_bits 0\n", "t.conf:2: invalid value '0' for "
	    "key 'tls_min_dh_prime_bits': not a number of bits from 1 to "
	    "65536" },
	{ "auto_from maybe\n", "t.conf:2: invalid value 'maybe' for key "
	    "'auto_from': not on or off" },
	{ "eval echo host x\n", "t.conf:2: key 'eval' runs a command, and "
	    "nothing is run here" },
	{ "eval\n", "t.conf:2: key 'eval' needs a value" },
	{ "proxy_port 0\n", "t.conf:2: invalid value '0' for key "
	    "'proxy_port': not a port number from 1 to 65535" },
	{ "host\n", "t.conf:2: key 'host' needs a value" },
	{ "host \"\"\n", "t.conf:2: key 'host' needs a value" },
	{ "port\n", "t.conf:2: key 'port' needs a value" },
	{ "port 0\n", "t.conf:2: invalid value '0' for key 'port': not a "
	    "port number from 1 to 65535" },
	{ "port 65536\n", "t.conf:2: invalid value '65536' for key 'port': "
	    "not a port number from 1 to 65535" },
	{ "port 58x\n", "t.conf:2: invalid value '58x' for key 'port': not "
	    "a port number from 1 to 65535" },
	{ "port -1\n", "t.conf:2: invalid value '-1' for key 'port': not a "
	    "port number from 1 to 65535" },
	{ "port 587 # submission\n", "t.conf:2: invalid value '587 # "
	    "submission' for key 'port': not a port number from 1 to 65535" },
	{ "timeout\n", "t.conf:2: key 'timeout' needs a value" },
	{ "session_timeout\n", "t.conf:2: key 'session_timeout' needs a "
	    "value" },
	{ "session_timeout 0\n", "t.conf:2: invalid value '0' for key "
	    "'session_timeout': not off or a duration like 20m, 1h or 1200" },
	{ "session_timeout 1d\n", "t.conf:2: invalid value '1d' for key "
	    "'session_timeout': not off or a duration like 20m, 1h or 1200" },
	{ "session_timeout 2147484\n", "t.conf:2: invalid value '2147484' "
	    "for key 'session_timeout': not off or a duration like 20m, 1h "
	    "or 1200" },
	{ "session_timeout 35792m\n", "t.conf:2: invalid value '35792m' "
	    "for key 'session_timeout': not off or a duration like 20m, 1h "
	    "or 1200" },
	{ "queue_lifetime 5w\n", "t.conf:2: invalid value '5w' for key "
	    "'queue_lifetime': not a duration like 5d, 12h, 30m or 3600" },
	{ "queue_lifetime 0\n", "t.conf:2: invalid value '0' for key "
	    "'queue_lifetime': not a duration like 5d, 12h, 30m or 3600" },
	{ "timeout 0\n", "t.conf:2: invalid value '0' for key 'timeout': "
	    "not off or a number of seconds" },
	{ "timeout 99999999999\n", "t.conf:2: invalid value '99999999999' "
	    "for key 'timeout': not off or a number of seconds" },
	{ "tls maybe\n", "t.conf:2: invalid value 'maybe' for key 'tls': "
	    "not on or off" },
	{ "tls_starttls yes\n", "t.conf:2: invalid value 'yes' for key "
	    "'tls_starttls': not on or off" },
	{ "tls_certcheck 1\n", "t.conf:2: invalid value '1' for key "
	    "'tls_certcheck': not on or off" },
	{ "queue sometimes\n", "t.conf:2: invalid value 'sometimes' for key "
	    "'queue': not on or off" },
	{ "bounce_to not an address\n", "t.conf:2: invalid value 'not an "
	    "address' for key 'bounce_to': not an address like "
	    "root@example.org" },
	{ "queue_backoff 0\n", "t.conf:2: invalid value '0' for key "
	    "'queue_backoff': not a duration like 5d, 12h, 30m or 3600" },
	{ "auth pl@in\n", "t.conf:2: invalid value 'pl@in' for key 'auth': "
	    "not on, off or a mechanism name" },
	{ "auth ABCDEFGHIJKLMNOPQRSTU\n", "t.conf:2: invalid value "
	    "'ABCDEFGHIJKLMNOPQRSTU' for key 'auth': not on, off or a "
	    "mechanism name" },
	{ "tls_fingerprint 00:11\n", "t.conf:2: invalid value '00:11' for "
	    "key 'tls_fingerprint': not a SHA-256 (or SHA-1) fingerprint "
	    "like AB:CD:.." },
	{ "tls_fingerprint 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\n",
	    "t.conf:2: invalid value '00:11:22:33:44:55:66:77:88:99:AA:BB:CC:"
	    "DD:EE:FF' for key 'tls_fingerprint': MD5 fingerprints are not "
	    "accepted, use the SHA-256 fingerprint" },
	{ "tls_nocertcheck off\n", "t.conf:2: key 'tls_nocertcheck' takes no "
	    "value (tls_certcheck off is the current spelling)" },
	{ "source_ip example.org\n", "t.conf:2: invalid value 'example.org' "
	    "for key 'source_ip': not an IPv4 or IPv6 address" },
	{ "dsn_notify\n", "t.conf:2: key 'dsn_notify' needs a value" },
	{ "dsn_notify sometimes\n", "t.conf:2: invalid value 'sometimes' for "
	    "key 'dsn_notify': not off, never or a list of success, failure "
	    "and delay" },
	{ "dsn_notify success,success\n", "t.conf:2: invalid value "
	    "'success,success' for key 'dsn_notify': not off, never or a list "
	    "of success, failure and delay" },
	{ "dsn_notify never,success\n", "t.conf:2: invalid value "
	    "'never,success' for key 'dsn_notify': not off, never or a list "
	    "of success, failure and delay" },
	{ "dsn_notify success,\n", "t.conf:2: invalid value 'success,' for "
	    "key 'dsn_notify': not off, never or a list of success, failure "
	    "and delay" },
	{ "dsn_return body\n", "t.conf:2: invalid value 'body' for key "
	    "'dsn_return': not off, headers or full" },
	{ "syslog LOG_KERN\n", "t.conf:2: invalid value 'LOG_KERN' for key "
	    "'syslog': not on, off or a facility (LOG_USER, LOG_MAIL, "
	    "LOG_LOCAL0 to LOG_LOCAL7)" },
	{ "syslog LOG_LOCAL8\n", "t.conf:2: invalid value 'LOG_LOCAL8' for "
	    "key 'syslog': not on, off or a facility (LOG_USER, LOG_MAIL, "
	    "LOG_LOCAL0 to LOG_LOCAL7)" },
	{ "set_from_header sometimes\n", "t.conf:2: invalid value "
	    "'sometimes' for key 'set_from_header': not auto, on or off" },
	{ "set_date_header on\n", "t.conf:2: invalid value 'on' for key "
	    "'set_date_header': not auto or off" },
	{ "add_missing_from_header auto\n", "t.conf:2: invalid value 'auto' "
	    "for key 'add_missing_from_header': not on or off" },
	{ "protocol http\n", "t.conf:2: invalid value 'http' for key "
	    "'protocol': not smtp or lmtp" },
	{ "defaults now\n", "t.conf:2: key 'defaults' takes no value" },
	{ "account\n", "t.conf:2: key 'account' needs a value" },
	{ "account : a\n", "t.conf:2: missing account name" },
	{ "account b,c\n", "t.conf:2: account name 'b,c' must not contain "
	    "','" },
	{ "account a\n", "t.conf:2: account 'a' is already defined "
	    "(line 1)" },
	{ "account b : nope\n", "t.conf:2: account 'nope' is not defined "
	    "(yet)" },
	{ "account b : b\n", "t.conf:2: account 'b' is not defined (yet)" },
	{ "account b : a,\n", "t.conf:2: missing account name in the "
	    "parents of 'b'" },
	{ "host a\rb\n", "t.conf:2: control character in line" },
	{ "host \"smtp\x01\"\n", "t.conf:2: control character in line" },
};

static void
test_good(void)
{
	struct conf c;
	struct err e;
	char buf[256];
	size_t i;

	for (i = 0; i < N(good); i++) {
		if (parse_a(&c, good[i].lines, &e) == -1) {
			t_ok(0, "good %zu parses: %s", i, e.text);
			continue;
		}
		t_streq(field(conf_account(&c, "a"), good[i].field, buf,
		    sizeof(buf)), good[i].want, "good %zu: %s after '%s'",
		    i, good[i].field, esc(good[i].lines));
		conf_free(&c);
	}
}

static void
test_bad(void)
{
	struct conf c;
	struct err e;
	size_t i;
	int rc;

	for (i = 0; i < N(bad); i++) {
		rc = parse_a(&c, bad[i].lines, &e);
		t_ok(rc == -1 && e.kind == ERR_CONFIG && c.naccounts == 0 &&
		    c.accounts == NULL && strcmp(e.text, bad[i].want) == 0,
		    "bad %zu: '%s' fails with the right text", i,
		    esc(bad[i].lines));
		if (rc != -1 || strcmp(e.text, bad[i].want) != 0)
			printf("#   got:  '%s'\n#   want: '%s'\n",
			    rc == -1 ? e.text : "(parsed)", bad[i].want);
		if (rc == 0)
			conf_free(&c);
	}
	t_inteq(err_exitcode(&e), 78, "config errors exit 78");
}

/* A secret never appears in a message, whatever went wrong. */
static void
test_secret(void)
{
	static const char *const texts[] = {
		"account a\npassword \"hunter2\x01\"\n",
		"account a\npasswrod hunter2\n",
		"account a\npassword hunter2\npasswrod hunter2\n",
		"account a\nhunter2\n",
		"account a\nS3cr3t!hunter2\n",
	};
	static const char *const wants[] = {
		"t.conf:2: control character in line",
		"t.conf:2: unknown key (did you mean 'password'?)",
		"t.conf:3: unknown key (did you mean 'password'?)",
		/* A password alone on a line is never repeated. */
		"t.conf:2: unknown key: the line does not start with a key "
		    "posthorn knows (see posthorn.conf(5))",
		"t.conf:2: unknown key: the line does not start with a key "
		    "posthorn knows (see posthorn.conf(5))",
	};
	struct conf c;
	struct err e;
	size_t i;

	for (i = 0; i < 3; i++) {
		t_ok(parse(&c, texts[i], &e) == -1 &&
		    strstr(e.text, "hunter2") == NULL,
		    "secret %zu: value not in '%s'", i, e.text);
		t_streq(e.text, wants[i], "secret %zu: message", i);
	}
	t_ok(parse(&c, texts[3], &e) == -1, "a bare word that may be a key");
	t_streq(e.text, wants[3], "is not repeated");
	t_ok(parse(&c, texts[4], &e) == -1, "a word with symbols");
	t_streq(e.text, wants[4], "is not repeated");
	t_ok(parse(&c, "account a\npassword correct horse\nbattery staple\n",
	    &e) == -1 && strstr(e.text, "battery") == NULL &&
	    strstr(e.text, "staple") == NULL,
	    "the rest of a value on the next line is not repeated: %s",
	    e.text);
	t_ok(parse(&c, "account a\npassword x\n", &e) == 0 && c.has_secret,
	    "a password line sets has_secret");
	conf_free(&c);
	t_ok(parse(&c, "account a\npassword\npasswordeval x\n", &e) == 0 &&
	    !c.has_secret, "an empty password and passwordeval do not");
	conf_free(&c);
	t_ok(parse(&c, "defaults\npassword x\naccount a\n", &e) == 0 &&
	    c.has_secret, "a password in defaults sets has_secret");
	conf_free(&c);
}

/* ------------------------------------------------------------ sections */

static const char cfg_inherit[] =
	"# defaults, then accounts\n"			/* 1 */
	"defaults\n"					/* 2 */
	"port 2525\n"					/* 3 */
	"logfile ~/log\n"				/* 4 */
	"\n"						/* 5 */
	"account work\n"				/* 6 */
	"host smtp.work.example\n"			/* 7 */
	"port 587\n"					/* 8 */
	"auth on\n"					/* 9 */
	"user alice\n"					/* 10 */
	"from alice@work.example\n"			/* 11 */
	"\n"						/* 12 */
	"account tlsonly\n"				/* 13 */
	"tls_starttls off\n"				/* 14 */
	"timeout 10\n"					/* 15 */
	"\n"						/* 16 */
	"defaults\n"					/* 17 */
	"logfile /var/log/ph\n"				/* 18 */
	"timeout 99\n"					/* 19 */
	"domain late.example\n"				/* 20 */
	"\n"						/* 21 */
	"account both : work, tlsonly\n"		/* 22 */
	"user bob\n"					/* 23 */
	"\n"						/* 24 */
	"account order : tlsonly,work\n"		/* 25 */
	"\n"						/* 26 */
	"account quoted : \"work\"\n"			/* 27 */
	"account default : work\n";			/* 28 */

static const struct {
	const char	*account;
	const char	*field;
	const char	*want;
} inherit[] = {
	{ "work", "port", "587" },
	{ "work", "logfile", "~/log" },		/* defaults seen so far */
	{ "work", "timeout", "0" },		/* later defaults: no */
	{ "work", "domain", "(null)" },
	{ "work", "line", "6" },
	{ "tlsonly", "port", "2525" },		/* from the defaults */
	{ "tlsonly", "host", "(null)" },
	{ "tlsonly", "tls_starttls", "0" },
	{ "both", "host", "smtp.work.example" },
	{ "both", "port", "587" },		/* work's own */
	{ "both", "user", "bob" },		/* own line wins */
	{ "both", "tls_starttls", "0" },	/* second parent */
	{ "both", "timeout", "10" },		/* parent beats defaults */
	{ "both", "logfile", "/var/log/ph" },	/* later defaults win over */
	{ "both", "domain", "late.example" },	/* a parent's defaults */
	{ "both", "auth", "1" },
	{ "both", "from", "alice@work.example" },
	{ "order", "port", "587" },		/* work applied last */
	{ "order", "timeout", "10" },
	{ "quoted", "host", "smtp.work.example" },
	{ "default", "host", "smtp.work.example" },
	{ "default", "user", "alice" },
	{ "default", "name", "default" },
	{ "default", "line", "28" },
};

static void
test_inherit(void)
{
	struct conf c;
	struct err e;
	char buf[256];
	size_t i;

	if (parse(&c, cfg_inherit, &e) == -1) {
		t_ok(0, "inheritance config parses: %s", e.text);
		return;
	}
	t_inteq(c.naccounts, 6, "six accounts, defaults not among them");
	t_streq(c.accounts[0]->name, "work", "accounts in file order");
	t_streq(c.accounts[5]->name, "default", "default is last");
	t_streq(c.accounts[0]->file, "t.conf", "account knows its file");
	for (i = 0; i < N(inherit); i++)
		t_streq(field(conf_account(&c, inherit[i].account),
		    inherit[i].field, buf, sizeof(buf)), inherit[i].want,
		    "inherit: %s.%s", inherit[i].account, inherit[i].field);
	t_ok(keyset_meets(&conf_account(&c, "tlsonly")->set,
	    &conf_account(&c, "work")->set),
	    "set masks record keys");
	t_ok(conf_account(&c, "nope") == NULL, "no such account");
	conf_free(&c);
	t_inteq(c.naccounts, 0, "conf_free empties");
}

/* Odd shapes of files. */
static void
test_shapes(void)
{
	struct conf c;
	struct err e;
	char *big;
	size_t n;

	/* Lines before any account form the account "default". */
	t_ok(parse(&c, "host h\nport 26\naccount x\n", &e) == 0 &&
	    c.naccounts == 2 && strcmp(c.accounts[0]->name, "default") == 0 &&
	    c.accounts[0]->port == 26, "lines before an account: 'default'");
	conf_free(&c);
	t_ok(parse(&c, "host h\naccount default\n", &e) == -1,
	    "then 'account default' is a redefinition");
	t_streq(e.text, "t.conf:2: account 'default' is already defined "
	    "(line 1)", "redefinition message");
	t_ok(parse(&c, "", &e) == 0 && c.naccounts == 0, "empty file");
	conf_free(&c);
	t_ok(parse(&c, "# only\n\n   \n", &e) == 0 && c.naccounts == 0,
	    "comments only");
	conf_free(&c);
	t_ok(parse(&c, "defaults\nhost h\n", &e) == 0 && c.naccounts == 0,
	    "defaults only: no accounts");
	conf_free(&c);
	t_ok(parse(&c, "\xef\xbb\xbf" "account a\n", &e) == 0 &&
	    c.naccounts == 1, "a UTF-8 byte order mark is skipped");
	conf_free(&c);
	err_clear(&e);
	t_ok(conf_parse(&c, "account a\nhost x\0y\n", 17, "t.conf", &e) ==
	    -1 && strcmp(e.text, "t.conf:2: control character in line") == 0,
	    "a NUL byte is refused");

	/* A 60 KiB token is fine; a line over 64 KiB is not. */
	n = 60 * 1024;
	big = xmalloc(n + 64);
	memcpy(big, "account a\npassword ", 19);
	memset(big + 19, 'x', n);
	strcpy(big + 19 + n, "\n");
	t_ok(parse(&c, big, &e) == 0 &&
	    strlen(conf_account(&c, "a")->password) == n,
	    "a 60 KiB password line is accepted");
	conf_free(&c);
	free(big);
	n = 64 * 1024 + 1;
	big = xmalloc(n + 64);
	memcpy(big, "account a\nhost ", 15);
	memset(big + 15, 'x', n);
	strcpy(big + 15 + n, "\n");
	t_ok(parse(&c, big, &e) == -1, "a line over 64 KiB is refused");
	t_streq(e.text, "t.conf:2: line longer than 65536 bytes",
	    "line cap message");
	free(big);
	/* 1000 accounts are fine, the 1001st is not. */
	big = xmalloc(1001 * 16 + 1);
	big[0] = '\0';
	for (n = 0; n < 1001; n++)
		sprintf(big + strlen(big), "account a%zu\n", n);
	t_ok(parse(&c, big, &e) == -1, "1001 accounts are refused");
	t_streq(e.text, "t.conf:1001: too many accounts (at most 1000)",
	    "account cap message");
	*strstr(big, "account a1000\n") = '\0';
	t_ok(parse(&c, big, &e) == 0 && c.naccounts == 1000,
	    "1000 accounts are accepted");
	conf_free(&c);
	free(big);

	/* Inheritance may not multiply the file without bound. */
	big = xmalloc(70 * 1024 + 4000 * 2 + 64);
	strcpy(big, "account a\nhost ");
	n = strlen(big);
	memset(big + n, 'h', 60 * 1024);
	strcpy(big + n + 60 * 1024, "\naccount b : a");
	for (n = 0; n < 2000; n++)
		strcat(big + 60 * 1024, ",a");
	strcat(big + 60 * 1024, "\n");
	t_ok(parse(&c, big, &e) == -1, "copying 2000 x 60 KiB is refused");
	t_streq(e.text, "t.conf:3: accounts copy more than 67108864 bytes "
	    "from defaults and parents", "copy cap message");
	free(big);

	n = 1024 * 1024 + 1;
	big = xmalloc(n + 1);
	memset(big, '\n', n);
	big[n] = '\0';
	t_ok(parse(&c, big, &e) == -1, "a file over 1 MiB is refused");
	t_streq(e.text, "t.conf: file is larger than 1048576 bytes",
	    "file cap message");
	free(big);
}

/* ------------------------------------------------------------ fingerprint */

static const struct {
	const char	*in;
	int		 len;
	unsigned char	 first, last;
} fprs[] = {
	{ "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:F1", 32, 0x00, 0xf1 },
	{ "ab:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
	    "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:fe", 32, 0xab, 0xfe },
	{ "A1:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67",
	    20, 0xa1, 0x67 },
	{ "a123456789abcdef0123456789abcdef0123456F", 20, 0xa1, 0x6f },
	{ "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	    32, 0x00, 0xff },
	{ "", -1, 0, 0 },
	{ "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF", -1, 0, 0 },
	{ "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
	    "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00", -1, 0, 0 },
	{ "A1:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:6", -1,
	    0, 0 },
	{ "A1:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:",
	    -1, 0, 0 },
	{ "G1:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67",
	    -1, 0, 0 },
	{ "A1-23-45-67-89-AB-CD-EF-01-23-45-67-89-AB-CD-EF-01-23-45-67",
	    -1, 0, 0 },
	{ "A1:2345:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
	    -1, 0, 0 },
	{ "A1::23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67",
	    -1, 0, 0 },
	{ "sha256:00", -1, 0, 0 },
};

static void
test_fingerprint(void)
{
	unsigned char out[32];
	size_t i;
	int n;

	for (i = 0; i < N(fprs); i++) {
		memset(out, 0x5a, sizeof(out));
		n = conf_parse_fingerprint(fprs[i].in, out);
		t_ok(n == fprs[i].len && (n == -1 || (out[0] == fprs[i].first &&
		    out[n - 1] == fprs[i].last)), "fingerprint %zu: '%.24s..' "
		    "-> %d (got %d)", i, fprs[i].in, fprs[i].len, n);
	}
}

/* ------------------------------------------------------------ subst */

static const struct {
	const char	*lines;
	const char	*field;
	const char	*want;	/* value, or "!" + error text */
} substs[] = {
	{ "from %U@%M\n", "from", "alice@example.org" },
	{ "from %U@%H\n", "from", "alice@box" },
	{ "from %U@%C\n", "from", "alice@box.example.net" },
	{ "from 100%%@x\n", "from", "100%@x" },
	{ "from %F\n", "from", "%F" },
	{ "from %U+%F%%\n", "from", "alice+%F%%" },
	{ "auto_from on\nmaildomain example.com\n", "from",
	    "alice@example.com" },
	{ "from x@y\nauto_from\n", "from", "alice" },
	{ "auto_from off\nfrom x@y\n", "from", "x@y" },
	{ "from plain@x\n", "from", "plain@x" },
	{ "domain %C\n", "domain", "box.example.net" },
	{ "domain %H.%M\n", "domain", "box.example.org" },
	{ "from %x@y\n", "from", "!t.conf:1: account 'a': unknown "
	    "substitution '%x' in key 'from'" },
	{ "domain %u\n", "domain", "!t.conf:1: account 'a': unknown "
	    "substitution '%u' in key 'domain'" },
	{ "from a@b%\n", "from", "!t.conf:1: account 'a': lone '%' at the "
	    "end of key 'from' (write %% for a percent sign)" },
	{ "user %U\n", "user", "%U" },		/* not a substituted key */
	{ "password %U\n", "password", "%U" },
	{ "logfile ~/log\n", "logfile", "/home/alice/log" },
	{ "logfile ~\n", "logfile", "/home/alice" },
	{ "logfile -\n", "logfile", "-" },
	{ "logfile ~bob/log\n", "logfile", "~bob/log" },
	{ "logfile /x/~/y\n", "logfile", "/x/~/y" },
	{ "aliases ~/.aliases\n", "aliases", "/home/alice/.aliases" },
	{ "queue_dir ~/q\n", "queue_dir", "/home/alice/q" },
	{ "tls_trust_file ~/ca.pem\n", "tls_trust_file",
	    "/home/alice/ca.pem" },
	{ "tls_crl_file ~/crl\n", "tls_crl_file", "/home/alice/crl" },
	{ "tls_cert_file ~/c\n", "tls_cert_file", "/home/alice/c" },
	{ "tls_key_file ~/k\n", "tls_key_file", "/home/alice/k" },
	{ "tls_trust_file system\n", "tls_trust_file", "system" },
	{ "passwordeval ~/bin/pw\n", "passwordeval", "~/bin/pw" },
	{ "host ~/x\n", "host", "~/x" },
};

static void
test_subst(void)
{
	struct conf c;
	struct err e;
	char buf[256];
	size_t i;
	int rc;

	for (i = 0; i < N(substs); i++) {
		char *text = xasprintf("account a\n%s", substs[i].lines);

		err_clear(&e);
		if (conf_parse(&c, text, strlen(text), "t.conf", &e) == -1) {
			t_ok(0, "subst %zu parses: %s", i, e.text);
			free(text);
			continue;
		}
		free(text);
		rc = conf_subst(&c, &tenv, &e);
		if (substs[i].want[0] == '!')
			t_ok(rc == -1 && e.kind == ERR_CONFIG &&
			    strcmp(e.text, substs[i].want + 1) == 0,
			    "subst %zu: error '%s'", i, e.text);
		else
			t_streq(rc == 0 ? field(conf_account(&c, "a"),
			    substs[i].field, buf, sizeof(buf)) : e.text,
			    substs[i].want, "subst %zu: %s", i,
			    esc(substs[i].lines));
		conf_free(&c);
	}
}

/* eval lines through a hook; notes for obsolete keys, once per key. */
static int
fake_eval(const char *cmd, int timeout, char **line, struct err *e)
{
	(void)timeout;
	if (strcmp(cmd, "fail") == 0)
		return err_set(e, ERR_CONFIG, "eval command failed with exit "
		    "status 1");
	if (strncmp(cmd, "echo ", 5) == 0) {
		*line = xstrdup(cmd + 5);
		return 0;
	}
	*line = xstrdup("eval again");
	return 0;
}

static void
test_eval(void)
{
	static const char text[] = "account a\neval echo host h.example\n"
	    "eval \"echo password s3\"\nauto_from on\nmaildomain x\n"
	    "auto_from off\nntlmdomain D\nntlmdomain E\n";
	struct conf c;
	struct err e;
	char buf[64];

	err_clear(&e);
	t_ok(conf_parse_eval(&c, text, strlen(text), "t.conf", fake_eval,
	    &e) == 0, "eval: parses (%s)", e.text);
	t_streq(field(conf_account(&c, "a"), "host", buf, sizeof(buf)),
	    "h.example", "eval: host from the command");
	t_streq(field(conf_account(&c, "a"), "password", buf, sizeof(buf)),
	    "s3", "eval: password from the command");
	t_ok(!c.has_secret, "eval: a password a command printed is not the "
	    "file's");
	t_ok(c.nnotes == 3, "eval: three notes (got %zu)", c.nnotes);
	if (c.nnotes == 3) {
		t_streq(c.notes[0], "t.conf:4: key 'auto_from' is obsolete; "
		    "it still works, but 'from %U@DOMAIN' says the same",
		    "eval: auto_from note");
		t_streq(c.notes[1], "t.conf:5: key 'maildomain' is obsolete; "
		    "it still works, but 'from %U@DOMAIN' says the same",
		    "eval: maildomain note");
		t_streq(c.notes[2], "t.conf:7: key 'ntlmdomain' is obsolete "
		    "and has no effect (posthorn has no NTLM)",
		    "eval: ntlmdomain note");
	}
	conf_free(&c);
	t_ok(conf_parse_eval(&c, "eval fail\n", 10, "t.conf", fake_eval,
	    &e) == -1 && strcmp(e.text, "t.conf:1: eval command failed "
	    "with exit status 1") == 0, "eval: failure names the line (%s)",
	    e.text);
	t_ok(conf_parse_eval(&c, "eval x\n", 7, "t.conf", fake_eval,
	    &e) == -1 && strcmp(e.text, "t.conf:1: the line an eval "
	    "command printed is another eval") == 0, "eval: no recursion "
	    "(%s)", e.text);
	t_ok(conf_parse_eval(&c, "eval echo hots x\n", 17, "t.conf",
	    fake_eval, &e) == -1 && strcmp(e.text, "t.conf:1: unknown key "
	    "(did you mean 'host'?)") == 0, "eval: its line is checked (%s)",
	    e.text);
}

/* The system file's accounts under the user's (msmtp's merge). */
static void
test_merge(void)
{
	static const char sys[] = "account a\nhost sys-a\naccount b\n"
	    "host sys-b\nfrom x@y\nauto_from on\n";
	static const char usr[] = "account c\nhost usr-c\naccount b\n"
	    "host usr-b\n";
	struct conf cs, cu;
	struct err e;
	char buf[64];

	t_ok(conf_parse(&cs, sys, strlen(sys), "sys", &e) == 0 &&
	    conf_parse(&cu, usr, strlen(usr), "usr", &e) == 0,
	    "merge: both parse");
	conf_merge(&cu, &cs);
	t_ok(cu.naccounts == 3 && cs.naccounts == 0 && cs.accounts == NULL,
	    "merge: three accounts, the system's moved");
	if (cu.naccounts == 3) {
		t_streq(cu.accounts[0]->name, "a", "merge: system's first");
		t_streq(cu.accounts[1]->name, "c", "merge: then the user's");
		t_streq(cu.accounts[2]->name, "b", "merge: in their order");
	}
	t_streq(field(conf_account(&cu, "b"), "host", buf, sizeof(buf)),
	    "usr-b", "merge: the user's account wins");
	t_streq(field(conf_account(&cu, "b"), "file", buf, sizeof(buf)),
	    "usr", "merge: and keeps its file");
	t_streq(field(conf_account(&cu, "a"), "file", buf, sizeof(buf)),
	    "sys", "merge: a system account keeps its file");
	t_ok(cu.nnotes == 1 && strncmp(cu.notes[0], "sys:6: ", 7) == 0,
	    "merge: the system file's notes come along");
	conf_free(&cu);
}

/* conf_keyopt and conf_account_set: the keys as command-line options. */
static void
test_keyopts(void)
{
	struct account *a = conf_account_new("a");
	struct err e;
	const char *k;
	size_t i;
	int optional, seen_timeout = 0, seen_bool = 0;
	char buf[64];

	for (i = 0; (k = conf_keyopt(i, &optional)) != NULL; i++) {
		t_ok(strcmp(k, "password") != 0 && strcmp(k, "passwordeval") !=
		    0 && strcmp(k, "logfile") != 0 && strcmp(k, "queue_dir") !=
		    0 && strcmp(k, "eval") != 0 && strcmp(k, "host") != 0 &&
		    strcmp(k, "keepbcc") != 0,
		    "keyopt %zu: '%s' may be an option", i, k);
		if (strcmp(k, "timeout") == 0)
			seen_timeout = !optional;
		if (strcmp(k, "tls_certcheck") == 0)
			seen_bool = optional;
	}
	t_ok(i >= 20 && seen_timeout && seen_bool, "keyopts: %zu, timeout "
	    "takes a value, tls_certcheck may leave it out", i);
	err_clear(&e);
	t_ok(conf_account_set(a, "timeout", "30", "--timeout", &tenv, &e) ==
	    0 && a->timeout == 30, "set: timeout 30");
	t_ok(conf_account_set(a, "timeout", "x", "--timeout", &tenv, &e) ==
	    -1 && e.kind == ERR_USAGE && strcmp(e.text, "--timeout: invalid "
	    "value 'x' for key 'timeout': not off or a number of seconds") ==
	    0, "set: a bad value is a usage error (%s)", e.text);
	t_ok(conf_account_set(a, "tls_certcheck", "", "--tls-certcheck",
	    &tenv, &e) == 0 && a->tls_certcheck == 1, "set: empty is on");
	t_ok(conf_account_set(a, "tls_trust_file", "~/ca.pem",
	    "--tls-trust-file", &tenv, &e) == 0, "set: a path");
	t_streq(field(a, "tls_trust_file", buf, sizeof(buf)),
	    "/home/alice/ca.pem", "set: ~ is substituted");
	t_ok(conf_account_set(a, "domain", "%H.example", "--domain", &tenv,
	    &e) == 0, "set: domain with %%H");
	t_streq(field(a, "domain", buf, sizeof(buf)), "box.example",
	    "set: %%H is substituted");
	t_ok(conf_account_set(a, "auto_from", "on", "--auto-from", &tenv,
	    &e) == 0 && conf_account_set(a, "maildomain", "m.example",
	    "--maildomain", &tenv, &e) == 0, "set: auto_from, maildomain");
	t_streq(field(a, "from", buf, sizeof(buf)), "alice@m.example",
	    "set: auto_from makes from");
	t_ok(conf_account_set(a, "passwordeval", "id", "--passwordeval",
	    &tenv, &e) == -1 && e.kind == ERR_USAGE, "set: passwordeval is "
	    "not an option");
	t_ok(conf_account_set(a, "queue_lifetime", "", "--queue-lifetime",
	    &tenv, &e) == -1 && strcmp(e.text, "--queue-lifetime: needs a "
	    "value") == 0, "set: needs a value (%s)", e.text);
	conf_account_free(a);
}

/* conf_describe (--pretend): values and the line each came from. */
static void
test_describe(void)
{
	static const char text[] = "defaults\ntimeout 5\naccount a\nhost h\n"
	    "password pw\naccount b : a\nport 2\n";
	struct conf c;
	struct err e;
	struct buf out;
	struct account *b;

	t_ok(conf_parse(&c, text, strlen(text), "t.conf", &e) == 0,
	    "describe: parses");
	b = conf_account_dup(conf_account(&c, "b"));
	conf_account_origin(b, "user", CONF_FROM_CLI);
	buf_init(&out, 0);
	conf_describe(b, &out);
	t_ok(strstr(buf_str(&out), "account b (t.conf:6)\n") != NULL,
	    "describe: the account and its line");
	t_ok(strstr(buf_str(&out), "  timeout                 5  (t.conf:2)\n")
	    != NULL, "describe: from the defaults section");
	t_ok(strstr(buf_str(&out), "  host                    h  (t.conf:4)\n")
	    != NULL, "describe: from the parent");
	t_ok(strstr(buf_str(&out), "  port                    2  (t.conf:7)\n")
	    != NULL, "describe: its own line");
	t_ok(strstr(buf_str(&out), "  password                ***  "
	    "(t.conf:5)\n") != NULL && strstr(buf_str(&out), "pw\n") == NULL,
	    "describe: the password masked");
	t_ok(strstr(buf_str(&out), "  user                    (not set)  "
	    "(command line)\n") != NULL, "describe: the command line");
	t_ok(strstr(buf_str(&out), "  tls                     on  "
	    "(default)\n") != NULL, "describe: a default");
	buf_release(&out);
	conf_account_free(b);
	conf_free(&c);
}

/* Missing environment values are errors only where they are needed. */
static void
test_subst_env(void)
{
	struct conf_env partial = { .user = "u", .home = "/" };
	struct conf c;
	struct err e;

	parse(&c, "account a\nfrom %U@%M\n", &e);
	t_ok(conf_subst(&c, &partial, &e) == -1, "%%M without a mail name");
	t_streq(e.text, "t.conf:1: account 'a': cannot substitute '%M' in "
	    "key 'from': the mail name is not known", "unknown mail name");
	conf_free(&c);
	parse(&c, "account a\nlogfile ~/log\nfrom %U\n", &e);
	t_ok(conf_subst(&c, &partial, &e) == 0 &&
	    strcmp(c.accounts[0]->logfile, "/log") == 0 &&
	    strcmp(c.accounts[0]->from, "u") == 0, "HOME=/ makes ~/log /log");
	conf_free(&c);
	parse(&c, "account a\nlogfile ~/log\n", &e);
	t_ok(conf_subst(&c, NULL, &e) == -1 && strcmp(e.text, "t.conf:1: "
	    "account 'a': cannot expand '~' in key 'logfile': no home "
	    "directory") == 0, "~ without a home: %s", e.text);
	conf_free(&c);
}

/* ------------------------------------------------------------ from */

static const char cfg_from[] =
	"account exact\nfrom alice@example.org\n"
	"account wild\nfrom *@example.org\n"
	"account other\nfrom bob@other.example\n"
	"account none\n"
	"account tagged\nfrom carol+lists@example.net\n"
	"account carol\nfrom carol@example.net\n";

static const struct {
	const char	*addr;
	const char	*want;	/* account name or NULL */
} froms[] = {
	{ "alice@example.org", "exact" },
	{ "ALICE@Example.ORG", "exact" },
	{ "zed@example.org", "wild" },
	{ "Zed@EXAMPLE.org", "wild" },
	{ "bob@other.example", "other" },
	{ "bob+x@other.example", "other" },
	{ "alice+tag@example.org", "wild" },	/* pattern before +tag */
	{ "carol+lists@example.net", "tagged" },
	{ "carol+news@example.net", "carol" },
	{ "carol@example.net", "carol" },
	{ "bob@nowhere.example", NULL },
	{ "+x@other.example", NULL },
	{ "nobody", NULL },
	{ "", NULL },
};

static void
test_for_from(void)
{
	struct conf c;
	struct err e;
	struct account *a;
	size_t i;

	if (parse(&c, cfg_from, &e) == -1) {
		t_ok(0, "from config parses: %s", e.text);
		return;
	}
	for (i = 0; i < N(froms); i++) {
		a = conf_account_for_from(&c, froms[i].addr);
		t_streq(a != NULL ? a->name : NULL, froms[i].want,
		    "account for from '%s'", froms[i].addr);
	}
	t_ok(conf_account_for_from(&c, NULL) == NULL, "NULL sender");
	conf_free(&c);
}

/* ------------------------------------------------------------ objects */

static void
test_objects(void)
{
	struct account *a, *b;
	struct conf c;
	struct err e;

	a = conf_account_new("cli");
	t_streq(a->name, "cli", "new: name");
	t_ok(a->tls && a->tls_starttls && a->tls_certcheck && !a->auth &&
	    a->queue && a->remove_bcc_headers && a->allow_from_override &&
	    a->set_date_header && a->set_from_header == SETFROM_AUTO &&
	    a->port == 0 && keyset_meets(&a->set, &a->set) == 0, "new: posthorn's defaults");
	t_ok(a->domain == NULL, "new: no domain (the host's name)");
	t_inteq(conf_port(a), 25, "port: STARTTLS -> 25");
	a->tls_starttls = 0;
	t_inteq(conf_port(a), 465, "port: implicit TLS -> 465");
	a->tls = 0;
	t_inteq(conf_port(a), 25, "port: no TLS -> 25");
	a->port = 2525;
	t_inteq(conf_port(a), 2525, "port: explicit wins");
	conf_account_free(a);
	conf_account_free(NULL);
	t_ok(conf_account_dup(NULL) == NULL, "dup NULL");

	parse(&c, "account a\nhost h\npassword pw\nauth plain\n"
	    "tls_fingerprint 01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:"
	    "01:23:45:67\n", &e);
	a = conf_account(&c, "a");
	b = conf_account_dup(a);
	t_ok(b != a && b->host != a->host && strcmp(b->host, "h") == 0 &&
	    strcmp(b->password, "pw") == 0 && strcmp(b->auth_mech, "PLAIN") ==
	    0 && b->tls_fingerprint_len == 20 && memcmp(b->tls_fingerprint,
	    a->tls_fingerprint, 20) == 0 && memcmp(&b->set, &a->set, sizeof(a->set)) == 0 &&
	    strcmp(b->file, "t.conf") == 0 && b->line == 1,
	    "dup is a deep copy");
	conf_free(&c);
	t_streq(b->password, "pw", "dup outlives conf_free");
	conf_account_free(b);
}

/* ------------------------------------------------------------ files */

static char tmpdir[64];

static char *
write_file(const char *name, const char *text, mode_t mode)
{
	char *path = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");

	if (f == NULL) {
		t_diag("cannot write %s: %s", path, strerror(errno));
		return path;
	}
	fputs(text, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void
test_load(void)
{
	struct conf c;
	struct err e;
	char *path;
	int fd;

	{
		char tmpl[] = "/tmp/test_conf_XXXXXX";

		fd = mkstemp(tmpl);
		static const char text[] =
		    "account a\npassword pw\nfrom %U@%M\n";

		t_ok(fd != -1 && write(fd, text, sizeof(text) - 1) ==
		    (ssize_t)sizeof(text) - 1, "mkstemp and write");
		close(fd);
		chmod(tmpl, 0644);
		err_clear(&e);
		t_ok(conf_load(&c, tmpl, 0, &tenv, &e) == -1 &&
		    e.kind == ERR_CONFIG && strstr(e.text, tmpl) != NULL &&
		    strstr(e.text, "chmod 600") != NULL &&
		    strstr(e.text, "pw") == NULL && c.naccounts == 0,
		    "0644 with a password is refused: %s", e.text);
		chmod(tmpl, 0640);
		t_ok(conf_load(&c, tmpl, 0, &tenv, &e) == -1 &&
		    e.kind == ERR_CONFIG, "0640 with a password is refused");
		chmod(tmpl, 0604);
		t_ok(conf_load(&c, tmpl, 0, &tenv, &e) == -1,
		    "0604 with a password is refused");
		chmod(tmpl, 0600);
		err_clear(&e);
		t_ok(conf_load(&c, tmpl, 0, &tenv, &e) == 0 &&
		    strcmp(c.path, tmpl) == 0 &&
		    strcmp(c.accounts[0]->from, "alice@example.org") == 0,
		    "0600 loads and substitutes: %s", e.text);
		conf_free(&c);
		unlink(tmpl);
	}
	path = write_file("nopw", "account a\nhost h\n", 0644);
	t_ok(conf_load(&c, path, 0, &tenv, &e) == 0 && c.naccounts == 1,
	    "0644 without a password loads");
	conf_free(&c);
	unlink(path);
	free(path);

	path = xasprintf("%s/missing", tmpdir);
	t_ok(conf_load(&c, path, 0, &tenv, &e) == -1 &&
	    e.kind == ERR_CONFIG, "missing file: ERR_CONFIG");
	t_ok(conf_load(&c, path, 1, &tenv, &e) == -1 &&
	    e.kind == ERR_NOINPUT, "missing -C file: ERR_NOINPUT");
	free(path);
	t_ok(conf_load(&c, tmpdir, 1, &tenv, &e) == -1 &&
	    e.kind == ERR_NOINPUT, "a directory is not a file: %s", e.text);

	path = write_file("bad", "account a\n\nport x\n", 0600);
	t_ok(conf_load(&c, path, 0, &tenv, &e) == -1 &&
	    strstr(e.text, "/bad:3: invalid value 'x' for key 'port'") != NULL,
	    "parse errors name the file: %s", e.text);
	unlink(path);
	free(path);

	path = write_file("sub", "account a\nfrom %Q\n", 0600);
	t_ok(conf_load(&c, path, 0, &tenv, &e) == -1 &&
	    strstr(e.text, "unknown substitution '%Q'") != NULL &&
	    c.naccounts == 0, "substitution errors fail the load");
	unlink(path);
	free(path);
}

/*
 * Issue 8 row 11: the files posthorn trusts.  conf_check_file judges a
 * stat; conf_load uses it on what it opened (a FIFO is not waited on).
 */
static void
test_file_rules(void)
{
	static const struct {
		const char	*name;
		mode_t		 mode;
		int		 other_owner;	/* uid 4242 instead of ours */
		const char	*want;		/* NULL: accepted */
	} rows[] = {
		{ "0600, ours", S_IFREG | 0600, 0, NULL },
		{ "0644, ours", S_IFREG | 0644, 0, NULL },
		{ "0444, ours", S_IFREG | 0444, 0, NULL },
		{ "another user's", S_IFREG | 0600, 1,
		    "not to you or root, so its owner could make posthorn run "
		    "commands as you" },
		{ "others may write", S_IFREG | 0602, 0,
		    "anyone can write it (run chmod o-w 'F')" },
		{ "0666", S_IFREG | 0666, 0, "anyone can write it" },
		{ "group may write, not the owner's own group",
		    S_IFREG | 0620, 0, "can write it (run chmod g-w 'F')" },
		{ "a FIFO", S_IFIFO | 0600, 0,
		    "it is not a regular file (a FIFO)" },
		{ "a device", S_IFCHR | 0600, 0,
		    "it is not a regular file (a device)" },
		{ "a directory", S_IFDIR | 0700, 0, "it is a directory" },
	};
	struct stat st;
	struct err e;
	size_t i;
	int r;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&st, 0, sizeof(st));
		st.st_mode = rows[i].mode;
		st.st_uid = rows[i].other_owner ? 4242 : geteuid();
		/* A group that no user has as their own. */
		st.st_gid = 4243;
		err_clear(&e);
		r = conf_check_file(&st, "configuration file", "F", &e);
		if (rows[i].want == NULL)
			t_ok(r == 0, "file rules: %s: accepted (%s)",
			    rows[i].name, e.text);
		else
			t_ok(r == -1 && e.kind == ERR_CONFIG &&
			    strstr(e.text, "refusing configuration file 'F'") &&
			    strstr(e.text, rows[i].want) != NULL,
			    "file rules: %s: %s", rows[i].name, e.text);
	}
	/* root's files are trusted too (/etc/posthorn.conf). */
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0644;
	st.st_uid = 0;
	t_ok(conf_check_file(&st, "x", "F", &e) == 0, "file rules: root's");
	/*
	 * Group-writable is fine when the group is the owner's own: root's
	 * primary group, when it has no other member (as on Debian).
	 */
	{
		struct group *gr = getgrgid(0);
		struct passwd *pw = getpwuid(0);

		st.st_mode = S_IFREG | 0664;
		st.st_gid = 0;
		if (gr != NULL && pw != NULL && pw->pw_gid == 0 &&
		    gr->gr_mem[0] == NULL)
			t_ok(conf_check_file(&st, "x", "F", &e) == 0,
			    "file rules: group-writable, the owner's own group");
		else
			t_ok(1, "# SKIP root's group has members here");
		st.st_gid = 4243;
		t_ok(conf_check_file(&st, "x", "F", &e) == -1,
		    "file rules: group-writable, another group");
	}
}

static void
test_load_rules(void)
{
	struct conf c;
	struct err e;
	char *path, *pw;
	int r;

	/* A FIFO is refused at once, not waited on. */
	path = xasprintf("%s/fifo", tmpdir);
	t_ok(mkfifo(path, 0600) == 0, "mkfifo");
	err_clear(&e);
	r = conf_load(&c, path, 1, &tenv, &e);
	t_ok(r == -1 && e.kind == ERR_CONFIG && strstr(e.text, "a FIFO"),
	    "a FIFO as the configuration: refused (78): %s", e.text);
	unlink(path);
	free(path);

	path = write_file("writable", "account a\nhost h\n", 0600);
	chmod(path, 0646);
	t_ok(conf_load(&c, path, 0, &tenv, &e) == -1 &&
	    strstr(e.text, "anyone can write it") != NULL,
	    "a file others can write: refused: %s", e.text);
	unlink(path);
	free(path);

	/* Passwords are not kept; conf_password reads them again. */
	path = write_file("lazy", "defaults\nhost h\naccount a\n"
	    "password first-pw\naccount b : a\naccount c\nuser u\n", 0600);
	err_clear(&e);
	t_ok(conf_load(&c, path, 0, &tenv, &e) == 0, "load: %s", e.text);
	t_ok(c.naccounts == 3 && c.accounts[0]->password == NULL &&
	    c.accounts[0]->password_in_file && c.accounts[1]->password == NULL &&
	    c.accounts[1]->password_in_file &&
	    !c.accounts[2]->password_in_file,
	    "load: no password kept in memory, accounts marked");
	pw = NULL;
	t_ok(conf_password(c.accounts[1], &pw, &e) == 0 && pw != NULL &&
	    strcmp(pw, "first-pw") == 0, "conf_password: the inherited one");
	wipe_free(pw);
	free(write_file("lazy", "defaults\nhost h\naccount a\n"
	    "password second-pw\naccount b : a\n", 0600));
	t_ok(conf_password(c.accounts[0], &pw, &e) == 0 &&
	    strcmp(pw, "second-pw") == 0, "conf_password: the file as it is");
	wipe_free(pw);
	free(write_file("lazy", "account a\nhost h\n", 0600));
	pw = NULL;
	t_ok(conf_password(c.accounts[0], &pw, &e) == -1 && pw == NULL &&
	    e.kind == ERR_CONFIG && strstr(e.text, "no longer holds a "
	    "password for account 'a'") != NULL,
	    "conf_password: gone since: %s", e.text);
	free(write_file("lazy", "account a\npassword x\n", 0644));
	t_ok(conf_password(c.accounts[0], &pw, &e) == -1 &&
	    strstr(e.text, "chmod 600") != NULL,
	    "conf_password: the readable-password rule still holds: %s",
	    e.text);
	conf_free(&c);
	unlink(path);
	free(path);
}

/*
 * conf_read_file, the one reader of the configuration, the aliases and
 * the client certificate and key: the cap exactly and one byte over, a
 * directory and a missing file with the caller's kind.
 */
static void
test_read_file(void)
{
	struct stat st;
	struct buf b;
	struct err e;
	char *path, want[256];

	path = write_file("sized", "0123456789", 0600);
	err_clear(&e);
	t_ok(conf_read_file(path, "thing", 10, 1, ERR_NOINPUT, &b, &st,
	    &e) == 0 && b.len == 10 && memcmp(b.data, "0123456789", 10) == 0,
	    "read_file: exactly the cap is read whole");
	t_ok(buf_add(&b, "", 1) == 0, "read_file: room for a NUL after it");
	buf_release(&b);
	err_clear(&e);
	t_ok(conf_read_file(path, "thing", 9, 0, ERR_NOINPUT, &b, &st,
	    &e) == -1 && e.kind == ERR_CONFIG && b.data == NULL,
	    "read_file: one byte over the cap is refused, nothing kept");
	snprintf(want, sizeof(want), "thing '%s' is larger than 9 bytes",
	    path);
	t_streq(e.text, want, "read_file: the cap's message");
	unlink(path);
	err_clear(&e);
	t_ok(conf_read_file(path, "thing", 9, 0, ERR_NOINPUT, &b, &st,
	    &e) == -1 && e.kind == ERR_NOINPUT &&
	    strstr(e.text, "cannot read thing '") != NULL &&
	    strstr(e.text, "No such file") != NULL,
	    "read_file: a missing file, the caller's kind: %s", e.text);
	free(path);
	err_clear(&e);
	t_ok(conf_read_file(tmpdir, "thing", 9, 0, ERR_NOINPUT, &b, &st,
	    &e) == -1 && e.kind == ERR_NOINPUT &&
	    strstr(e.text, "Is a directory") != NULL,
	    "read_file: a directory, the caller's kind: %s", e.text);
}

/* Sets or unsets an environment variable. */
static void
setenv_or_unset(const char *name, const char *value)
{
	if (value != NULL)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

static void
test_find(void)
{
	char *home = xasprintf("%s/home", tmpdir);
	char *xdg = xasprintf("%s/xdg", tmpdir);
	char *p, *want, *rc_path, *xdg_path, *dot_path;
	struct err e;
	int found;

	mkdir(home, 0700);
	p = xasprintf("%s/.config", home);
	mkdir(p, 0700);
	free(p);
	p = xasprintf("%s/.config/posthorn", home);
	mkdir(p, 0700);
	free(p);
	mkdir(xdg, 0700);
	p = xasprintf("%s/posthorn", xdg);
	mkdir(p, 0700);
	free(p);
	setenv_or_unset("HOME", home);
	setenv_or_unset("XDG_CONFIG_HOME", NULL);
	setenv_or_unset("POSTHORN_CONFIG", NULL);

	rc_path = write_file("home/.posthornrc", "", 0600);
	dot_path = write_file("home/.config/posthorn/config", "", 0600);
	xdg_path = write_file("xdg/posthorn/config", "", 0600);

	err_clear(&e);
	p = conf_find(NULL, &found, &e);
	t_streq(p, dot_path, "~/.config/posthorn/config without XDG");
	t_inteq(found, 1, "found");
	free(p);

	setenv_or_unset("XDG_CONFIG_HOME", xdg);
	p = conf_find(NULL, &found, &e);
	t_streq(p, xdg_path, "$XDG_CONFIG_HOME/posthorn/config");
	free(p);

	setenv_or_unset("XDG_CONFIG_HOME", "relative/dir");
	p = conf_find(NULL, &found, &e);
	t_streq(p, dot_path, "a relative XDG_CONFIG_HOME is ignored");
	free(p);

	unlink(dot_path);
	setenv_or_unset("XDG_CONFIG_HOME", NULL);
	p = conf_find(NULL, &found, &e);
	t_streq(p, rc_path, "then ~/.posthornrc");
	free(p);

	setenv_or_unset("POSTHORN_CONFIG", xdg_path);
	p = conf_find(NULL, &found, &e);
	t_streq(p, xdg_path, "$POSTHORN_CONFIG before the home files");
	free(p);

	p = conf_find(rc_path, &found, &e);
	t_streq(p, rc_path, "-C before everything");
	free(p);

	want = xasprintf("%s/nope", tmpdir);
	err_clear(&e);
	p = conf_find(want, &found, &e);
	t_ok(p == NULL && found == -1 && e.kind == ERR_NOINPUT &&
	    strstr(e.text, want) != NULL, "missing -C file: ERR_NOINPUT");
	setenv_or_unset("POSTHORN_CONFIG", want);
	err_clear(&e);
	p = conf_find(NULL, &found, &e);
	t_ok(p == NULL && found == -1 && e.kind == ERR_CONFIG &&
	    strstr(e.text, "POSTHORN_CONFIG") != NULL,
	    "missing $POSTHORN_CONFIG: ERR_CONFIG");
	setenv_or_unset("POSTHORN_CONFIG", "");
	unlink(rc_path);
	p = conf_find(NULL, &found, &e);
	if (access(SYSTEM_CONFIG, F_OK) == -1)
		t_ok(p == NULL && found == 0, "nothing found is not an error");
	else
		t_ok(p != NULL && found == 1, "the system file is last");
	free(p);

	unlink(xdg_path);
	p = xasprintf("%s/posthorn", xdg);
	rmdir(p);
	free(p);
	rmdir(xdg);
	p = xasprintf("%s/.config/posthorn", home);
	rmdir(p);
	free(p);
	p = xasprintf("%s/.config", home);
	rmdir(p);
	free(p);
	rmdir(home);
	free(want);
	free(rc_path);
	free(dot_path);
	free(xdg_path);
	free(home);
	free(xdg);
}

/* The EHLO name of an account without domain. */
static void
test_ehlo(void)
{
	static const struct {
		const char	*mailname, *canon, *want;
	} cases[] = {
		{ "example.org", "box.example.net", "example.org" },
		{ "mail.example.org", NULL, "mail.example.org" },
		/* A mail name without a dot: the canonical name. */
		{ "example", "box.example.net", "box.example.net" },
		{ NULL, "box.example.net", "box.example.net" },
		/* Neither has a dot: localhost. */
		{ "box", "box", "localhost" },
		{ NULL, NULL, "localhost" },
		/* Not a host name: skipped. */
		{ "mail_x.example.org", "box.example.net", "box.example.net" },
		{ "example.org.", "box.example.net", "box.example.net" },
		{ ".example.org", "x..example", "localhost" },
		{ "ex\xc3\xa4mple.org", "box", "localhost" },
		{ "a-1.b-2.example", "box", "a-1.b-2.example" },
	};
	struct conf_env env;
	size_t i;

	for (i = 0; i < N(cases); i++) {
		memset(&env, 0, sizeof(env));
		env.looked_up = 1;
		env.mailname = cases[i].mailname;
		env.canon = cases[i].canon;
		t_streq(conf_env_ehlo(&env), cases[i].want, "ehlo %zu: %s, %s",
		    i, cases[i].mailname ? cases[i].mailname : "-",
		    cases[i].canon ? cases[i].canon : "-");
	}
	t_streq(conf_env_ehlo(NULL), "localhost", "ehlo: no environment");
}

static void
test_local_domains(void)
{
	struct conf_env env;
	struct account *a;
	struct strv v = { NULL, 0 };

	memset(&env, 0, sizeof(env));
	env.looked_up = 1;
	env.host = "Box";
	env.canon = "box.example.net";
	env.mailname = "example.net";	/* the mail domain: never local */
	conf_local_domains(NULL, &env, &v);
	t_ok(v.n == 4 && strcmp(v.v[0], "localhost") == 0 &&
	    strcmp(v.v[1], "localhost.localdomain") == 0 &&
	    strcmp(v.v[2], "box") == 0 &&
	    strcmp(v.v[3], "box.example.net") == 0,
	    "local domains: localhost, localhost.localdomain, host, FQDN");
	strv_free(&v);
	env.canon = "localhost";	/* no DNS name: no duplicate */
	env.host = "bad host";
	conf_local_domains(NULL, &env, &v);
	t_ok(v.n == 2, "local domains: duplicates and non-names left out");
	strv_free(&v);
	/* Not looked up yet: the canonical name is found on demand, and
	   only for a name that starts with the host's. */
	memset(&env, 0, sizeof(env));
	env.host = "box";
	conf_local_domains(NULL, &env, &v);
	t_ok(v.n == 3 && !env.looked_up,
	    "local domains: no DNS lookup to list them");
	strv_free(&v);
	t_ok(!conf_local_fqdn(NULL, &env, "example.org", 11) &&
	    !conf_local_fqdn(NULL, &env, "boxer.example", 13) &&
	    !env.looked_up, "local fqdn: other names need no lookup");
	env.looked_up = 1;	/* as if the lookup ran and found this: */
	env.canon = "box.example.net";
	t_ok(!conf_local_fqdn(NULL, &env, "box.example.net", 15),
	    "local fqdn: once looked up, conf_local_domains lists it");
	a = conf_account_new("x");
	a->local_domains = xstrdup("a.example b.example a.example");
	conf_local_domains(a, &env, &v);
	t_ok(v.n == 2 && strcmp(v.v[0], "a.example") == 0 &&
	    strcmp(v.v[1], "b.example") == 0,
	    "local domains: the key replaces the default");
	strv_free(&v);
	conf_account_free(a);
}

static void
test_env(void)
{
	struct conf_env env;

	setenv("HOME", "/tmp/test-conf-home", 1);
	conf_env_init(&env);
	t_ok(env.host != NULL && *env.host != '\0', "env: host name");
	t_ok(env.canon == NULL && !env.looked_up,
	    "env: no DNS lookup until a value needs it");
	t_ok(conf_env_canon(&env) != NULL,
	    "env: canonical name (or the host name) on demand");
	t_ok(conf_env_mailname(&env) != NULL, "env: mail name on demand");
	t_streq(env.home, "/tmp/test-conf-home", "env: home from $HOME");
	t_ok(env.user == NULL || strchr(env.user, ' ') == NULL,
	    "env: user is one word");
	conf_env_release(&env);
	t_ok(env.host == NULL && env.home == NULL, "env: released");
}

int
main(void)
{
	char tmpl[] = "/tmp/test_conf_dir_XXXXXX";

	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	test_good();
	test_bad();
	test_secret();
	test_inherit();
	test_shapes();
	test_fingerprint();
	test_subst();
	test_subst_env();
	test_eval();
	test_merge();
	test_keyopts();
	test_describe();
	test_for_from();
	test_objects();
	test_load();
	test_file_rules();
	test_load_rules();
	test_read_file();
	test_find();
	test_ehlo();
	test_local_domains();
	test_env();
	rmdir(tmpdir);
	return t_done();
}
