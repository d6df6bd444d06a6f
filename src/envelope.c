/*
 * envelope owns the in-memory envelope (recipients without duplicates and
 * the strings that hang off it) and the text of the queue's env file,
 * written and parsed here as pure functions so that a damaged file can be
 * fuzzed without a queue around it.
 *
 * The env file is text, one "key: value" per line, each line ending in
 * LF, values in RFC 3461 xtext where they could hold spaces or odd bytes:
 *
 *	posthorn-queue: 1
 *	created: 1763904000
 *	conf: /home/alice/.config/posthorn/config   (xtext; optional)
 *	account: work			(absent: the default account)
 *	route: 64 hex digits		(route.c; optional)
 *	route-desc: xtext		(the route for people; optional)
 *	sender: alice@example.org	("<>" for the null sender)
 *	size: 1234			(octets of msg)
 *	body: 8BITMIME			(or 7BIT)
 *	body-forced: 0
 *	smtputf8: 0
 *	long-lines: 0
 *	ret: FULL			(DSN RET; optional)
 *	envid: xtext			(DSN ENVID; optional)
 *	host: / port: / tls: / user: / auth:  (command-line overrides)
 *	lifetime: 432000		(queue_lifetime at intake; optional)
 *	attempts: 2
 *	next-attempt: 1763904060
 *	hold: auto			(or manual; absent: not held)
 *	failed-at: 1763904060		(optional)
 *	requeued: 1763904060		(optional)
 *	bounced: 1763904060		(a failure report was made; optional)
 *	bounce-id: 6B10F0D1181A9nO9w	(its queue id; optional)
 *	bounce-to: alice@example.org	(its recipient, xtext; optional)
 *	last-error: xtext		(optional)
 *	record: xtext			(--save-copy/record path; optional)
 *	record-bcc: xtext		(a Bcc the copy notes; repeatable)
 *	rcpts: 2			(the number of rcpt lines)
 *	rcpt: STATE ADDR [notify=X] [orcpt=X] [code=N] [reply=X]
 *
 * STATE is pending, done or failed.  A line with a key this version does
 * not know is kept and written back as it was, so a newer posthorn's
 * queue stays readable and keeps what it wrote.  "rcpts" is checked
 * against the rcpt lines (older files, without it, are taken as they
 * are); a last line without its LF means the file was cut.  Nothing in the
 * file has a size limit: the file is written as a stream.  Server replies
 * are cut (with "...") before they are stored; addresses never are.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "envelope.h"
#include "err.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/str.h"

void
envelope_init(struct envelope *env)
{
	memset(env, 0, sizeof(*env));
}

void
envelope_release(struct envelope *env)
{
	size_t i;

	for (i = 0; i < env->nrcpt; i++) {
		free(env->rcpt[i].addr);
		free(env->rcpt[i].notify);
		free(env->rcpt[i].orcpt);
		free(env->rcpt[i].reply);
	}
	free(env->rcpt);
	free(env->sender);
	free(env->account);
	free(env->dsn_ret);
	free(env->dsn_envid);
	free(env->last_error);
	free(env->bounce_id);
	free(env->bounce_to);
	free(env->host);
	free(env->tls);
	free(env->user);
	free(env->auth);
	free(env->conf);
	free(env->route);
	free(env->route_desc);
	free(env->record);
	strv_free(&env->record_bcc);
	strv_free(&env->extra);
	free(env->ix);
	memset(env, 0, sizeof(*env));
}

/* ------------------------------------------------------ recipients */

/* Local parts are compared exactly, domains without regard to case. */
static int
same_addr(const char *a, const char *b)
{
	const char *at_a = strrchr(a, '@'), *at_b = strrchr(b, '@');
	size_t la = at_a ? (size_t)(at_a - a) : strlen(a);
	size_t lb = at_b ? (size_t)(at_b - b) : strlen(b);

	if (la != lb || strncmp(a, b, la) != 0)
		return 0;
	if ((at_a == NULL) != (at_b == NULL))
		return 0;
	return at_a == NULL || strcasecmp(at_a, at_b) == 0;
}

/* FNV-1a over the address as same_addr sees it (domain in lower case). */
static uint64_t
addr_hash(const char *a)
{
	const char *at = strrchr(a, '@');
	uint64_t h = 14695981039346656037ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)a; *p != '\0'; p++) {
		unsigned char c = *p;

		if (at != NULL && p > (const unsigned char *)at &&
		    c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		h = (h ^ c) * 1099511628211ULL;
	}
	return h;
}

/* Puts recipient i into the index (ix holds i + 1; 0 is empty). */
static void
ix_put(struct envelope *env, size_t i)
{
	size_t mask = env->ixcap - 1;
	size_t s = (size_t)addr_hash(env->rcpt[i].addr) & mask;

	while (env->ix[s] != 0)
		s = (s + 1) & mask;
	env->ix[s] = i + 1;
}

/* Brings the index up to date with every recipient, growing it. */
static void
ix_sync(struct envelope *env)
{
	size_t i, cap;

	if ((env->nrcpt + 1) * 2 > env->ixcap) {
		cap = env->ixcap ? env->ixcap : 64;
		while ((env->nrcpt + 1) * 2 > cap)
			cap *= 2;
		free(env->ix);
		env->ix = xcalloc(cap, sizeof(*env->ix));
		env->ixcap = cap;
		env->nix = 0;
	}
	for (i = env->nix; i < env->nrcpt; i++)
		ix_put(env, i);
	env->nix = env->nrcpt;
}

/* A new, zeroed recipient at the end (the array grows by doubling). */
static struct rcpt *
rcpt_append(struct envelope *env)
{
	struct rcpt *r;

	if (env->nrcpt == env->rcptcap) {
		env->rcptcap = env->rcptcap ? env->rcptcap * 2 : 8;
		env->rcpt = xreallocarray(env->rcpt, env->rcptcap,
		    sizeof(*env->rcpt));
	}
	r = &env->rcpt[env->nrcpt++];
	memset(r, 0, sizeof(*r));
	return r;
}

struct rcpt *
envelope_add_rcpt(struct envelope *env, const char *addr)
{
	struct rcpt *r;
	size_t s, mask;

	ix_sync(env);
	mask = env->ixcap - 1;
	for (s = (size_t)addr_hash(addr) & mask; env->ix[s] != 0;
	    s = (s + 1) & mask)
		if (same_addr(env->rcpt[env->ix[s] - 1].addr, addr))
			return NULL;
	r = rcpt_append(env);
	r->addr = xstrdup(addr);
	env->ix[s] = env->nrcpt;
	env->nix = env->nrcpt;
	return r;
}

size_t
envelope_count(const struct envelope *env, enum rcpt_state state)
{
	size_t i, n = 0;

	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].state == state)
			n++;
	return n;
}

void
envelope_set(char **slot, const char *s)
{
	char *copy = s != NULL ? xstrdup(s) : NULL;

	free(*slot);
	*slot = copy;
}

int
envelope_set_capped(char **slot, const char *s, size_t max)
{
	size_t n, keep;
	char *out;

	if (s == NULL || (n = strlen(s)) <= max || max <= 3) {
		envelope_set(slot, s);
		return 0;
	}
	keep = max - 3;
	/* Back to the start of a UTF-8 character. */
	while (keep > 0 && ((unsigned char)s[keep] & 0xC0) == 0x80)
		keep--;
	out = xmalloc(keep + 4);
	memcpy(out, s, keep);
	memcpy(out + keep, "...", 4);
	free(*slot);
	*slot = out;
	return 1;
}

void
envelope_cap(struct envelope *env)
{
	size_t i;

	for (i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].reply != NULL &&
		    strlen(env->rcpt[i].reply) > ENVELOPE_REPLY_MAX)
			envelope_set_capped(&env->rcpt[i].reply,
			    env->rcpt[i].reply, ENVELOPE_REPLY_MAX);
	if (env->last_error != NULL &&
	    strlen(env->last_error) > ENVELOPE_ERROR_MAX)
		envelope_set_capped(&env->last_error, env->last_error,
		    ENVELOPE_ERROR_MAX);
}

/* --------------------------------------------------------- writing */

/* xtext straight into the stream (RFC 3461: '!'..'~' but '+' and '='). */
static void
put_xtext(FILE *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < '!' || c > '~' || c == '+' || c == '=') {
			putc('+', out);
			putc(hex[c >> 4], out);
			putc(hex[c & 15], out);
		} else
			putc(c, out);
	}
}

/* xtext of s, cut as envelope_set_capped cuts when max is not 0. */
static void
put_text(FILE *out, const char *s, size_t max)
{
	char *capped = NULL;

	if (max != 0 && strlen(s) > max) {
		envelope_set_capped(&capped, s, max);
		s = capped;
	}
	put_xtext(out, s, strlen(s));
	free(capped);
}

static void
put(FILE *out, const char *key, const char *value, size_t max)
{
	if (value == NULL)
		return;
	fprintf(out, "%s: ", key);
	put_text(out, value, max);
	putc('\n', out);
}

static const char *const state_names[] = { "pending", "done", "failed" };
static const char *const hold_names[] = { NULL, "auto", "manual" };

int
envelope_write(const struct envelope *env, FILE *out)
{
	size_t i;

	fprintf(out, "posthorn-queue: 1\ncreated: %lld\n",
	    (long long)env->created);
	put(out, "conf", env->conf, 0);
	put(out, "account", env->account, 0);
	if (env->route != NULL)
		fprintf(out, "route: %s\n", env->route);
	put(out, "route-desc", env->route_desc, 0);
	if (env->sender == NULL || env->sender[0] == '\0')
		fputs("sender: <>\n", out);
	else
		put(out, "sender", env->sender, 0);
	fprintf(out, "size: %lld\nbody: %s\nbody-forced: %d\nsmtputf8: %d\n"
	    "long-lines: %d\n", (long long)env->size,
	    env->body == BODY_8BITMIME ? "8BITMIME" : "7BIT",
	    env->body_forced, env->smtputf8, env->long_lines);
	put(out, "ret", env->dsn_ret, 0);
	put(out, "envid", env->dsn_envid, 0);
	put(out, "host", env->host, 0);
	if (env->port != 0)
		fprintf(out, "port: %d\n", env->port);
	put(out, "tls", env->tls, 0);
	put(out, "user", env->user, 0);
	put(out, "auth", env->auth, 0);
	put(out, "record", env->record, 0);
	for (i = 0; i < env->record_bcc.n; i++)
		put(out, "record-bcc", env->record_bcc.v[i], 0);
	if (env->lifetime > 0)
		fprintf(out, "lifetime: %d\n", env->lifetime);
	fprintf(out, "attempts: %d\nnext-attempt: %lld\n", env->attempts,
	    (long long)env->next_attempt);
	if (env->hold == HOLD_AUTO || env->hold == HOLD_MANUAL)
		fprintf(out, "hold: %s\n", hold_names[env->hold]);
	if (env->failed_at != 0)
		fprintf(out, "failed-at: %lld\n", (long long)env->failed_at);
	if (env->requeued != 0)
		fprintf(out, "requeued: %lld\n", (long long)env->requeued);
	if (env->bounced != 0)
		fprintf(out, "bounced: %lld\n", (long long)env->bounced);
	put(out, "bounce-id", env->bounce_id, 0);
	put(out, "bounce-to", env->bounce_to, 0);
	put(out, "last-error", env->last_error, ENVELOPE_ERROR_MAX);
	for (i = 0; i < env->extra.n; i++)
		fprintf(out, "%s\n", env->extra.v[i]);
	fprintf(out, "rcpts: %zu\n", env->nrcpt);
	for (i = 0; i < env->nrcpt; i++) {
		const struct rcpt *r = &env->rcpt[i];

		fprintf(out, "rcpt: %s ", state_names[r->state]);
		put_xtext(out, r->addr, strlen(r->addr));
		if (r->notify != NULL)
			fprintf(out, " notify=%s", r->notify);
		if (r->orcpt != NULL) {
			fputs(" orcpt=", out);
			put_xtext(out, r->orcpt, strlen(r->orcpt));
		}
		if (r->code != 0)
			fprintf(out, " code=%d", r->code);
		if (r->reply != NULL) {
			fputs(" reply=", out);
			put_text(out, r->reply, ENVELOPE_REPLY_MAX);
		}
		putc('\n', out);
	}
	return ferror(out) ? -1 : 0;
}

/* --------------------------------------------------------- parsing */

struct parse {
	struct envelope	*env;
	struct err	*e;
	size_t		 line;
	int		 version;
	int		 have_sender;
	int		 have_size;
	long long	 nrcpts;	/* "rcpts", -1 when absent */
};

static int
bad(struct parse *p, const char *why, const char *key)
{
	if (key != NULL)
		err_set(p->e, ERR_DATA, "line %zu: %s '%s'", p->line, why,
		    key);
	else
		err_set(p->e, ERR_DATA, "line %zu: %s", p->line, why);
	return -1;
}

/* A decimal number in [lo, hi]. */
static int
num(struct parse *p, const char *key, const char *v, long long lo,
    long long hi, long long *out)
{
	char *end;
	long long n;

	if (*v == '\0' || !((*v >= '0' && *v <= '9') || *v == '-'))
		return bad(p, "not a number:", key);
	errno = 0;
	n = strtoll(v, &end, 10);
	if (*end != '\0' || errno != 0 || n < lo || n > hi)
		return bad(p, "number out of range:", key);
	*out = n;
	return 0;
}

/* Decodes xtext into a fresh string; NUL and bare controls refused. */
static int
text(struct parse *p, const char *key, const char *v, int allow_empty,
    char **slot)
{
	struct buf b;
	size_t i;

	buf_init(&b, 0);
	if (str_xtext_decode(&b, v) == -1) {
		buf_release(&b);
		return bad(p, "malformed xtext in", key);
	}
	for (i = 0; i < b.len; i++)
		if (b.data[i] == '\0' || b.data[i] == '\r' ||
		    b.data[i] == '\n') {
			buf_release(&b);
			return bad(p, "control character in", key);
		}
	if (b.len == 0 && !allow_empty) {
		buf_release(&b);
		return bad(p, "empty value for", key);
	}
	free(*slot);
	*slot = buf_detach(&b);
	return 0;
}

/* An envelope address: never anything a server could read otherwise. */
static int
address(struct parse *p, const char *key, const char *v, char **slot)
{
	if (text(p, key, v, 0, slot) == -1)
		return -1;
	if (!addr_valid_spec(*slot, 0) || str_has_ctl(*slot)) {
		free(*slot);
		*slot = NULL;
		return bad(p, "not an address:", key);
	}
	return 0;
}

static int
parse_rcpt(struct parse *p, char *v)
{
	struct envelope *env = p->env;
	char *tok, *save = NULL;
	struct rcpt *r;
	long long n;
	int state;

	if ((tok = strtok_r(v, " ", &save)) == NULL)
		return bad(p, "empty", "rcpt");
	for (state = 0; state < 3; state++)
		if (strcmp(tok, state_names[state]) == 0)
			break;
	if (state == 3)
		return bad(p, "unknown recipient state in", "rcpt");
	if ((tok = strtok_r(NULL, " ", &save)) == NULL)
		return bad(p, "no address in", "rcpt");
	r = rcpt_append(env);
	r->state = (enum rcpt_state)state;
	if (address(p, "rcpt", tok, &r->addr) == -1)
		return -1;
	while ((tok = strtok_r(NULL, " ", &save)) != NULL) {
		if (strncmp(tok, "notify=", 7) == 0) {
			if (tok[7] == '\0' || strspn(tok + 7, "ABCDEFGHIJKLMN"
			    "OPQRSTUVWXYZ,") != strlen(tok + 7))
				return bad(p, "bad value for", "notify");
			envelope_set(&r->notify, tok + 7);
		} else if (strncmp(tok, "orcpt=", 6) == 0) {
			if (text(p, "orcpt", tok + 6, 0, &r->orcpt) == -1)
				return -1;
			if (str_has_ctl(r->orcpt))
				return bad(p, "control character in",
				    "orcpt");
		} else if (strncmp(tok, "code=", 5) == 0) {
			if (num(p, "code", tok + 5, 0, 999, &n) == -1)
				return -1;
			r->code = (int)n;
		} else if (strncmp(tok, "reply=", 6) == 0) {
			if (text(p, "reply", tok + 6, 1, &r->reply) == -1)
				return -1;
		}
		/* Other words: a newer posthorn's; not kept. */
	}
	return 0;
}

/* One "key: value" line (NUL-terminated, without its LF). */
static int
parse_line(struct parse *p, char *line)
{
	struct envelope *env = p->env;
	char *colon, *key, *v;
	long long n;

	if ((colon = strchr(line, ':')) == NULL || colon[1] != ' ' ||
	    colon == line)
		return bad(p, "not a 'key: value' line", NULL);
	*colon = '\0';
	key = line;
	v = colon + 2;
	if (strcmp(key, "posthorn-queue") == 0) {
		if (num(p, key, v, 1, 1, &n) == -1)
			return -1;
		p->version = (int)n;
	} else if (strcmp(key, "created") == 0) {
		if (num(p, key, v, 0, LLONG_MAX, &n) == -1)
			return -1;
		env->created = (time_t)n;
	} else if (strcmp(key, "conf") == 0)
		return text(p, key, v, 0, &env->conf);
	else if (strcmp(key, "account") == 0)
		return text(p, key, v, 0, &env->account);
	else if (strcmp(key, "route") == 0) {
		if (*v == '\0' || strlen(v) > 128 || strspn(v,
		    "0123456789abcdef") != strlen(v))
			return bad(p, "bad value for", key);
		envelope_set(&env->route, v);
	} else if (strcmp(key, "route-desc") == 0)
		return text(p, key, v, 1, &env->route_desc);
	else if (strcmp(key, "record") == 0)
		return text(p, key, v, 0, &env->record);
	else if (strcmp(key, "record-bcc") == 0) {
		char *bcc = NULL;

		if (text(p, key, v, 0, &bcc) == -1)
			return -1;
		strv_take(&env->record_bcc, bcc);
		return 0;
	}
	else if (strcmp(key, "sender") == 0) {
		p->have_sender = 1;
		if (strcmp(v, "<>") == 0) {
			envelope_set(&env->sender, "");
			return 0;
		}
		return address(p, key, v, &env->sender);
	} else if (strcmp(key, "size") == 0) {
		if (num(p, key, v, 0, LLONG_MAX, &n) == -1)
			return -1;
		env->size = (off_t)n;
		p->have_size = 1;
	} else if (strcmp(key, "body") == 0) {
		if (strcmp(v, "8BITMIME") == 0)
			env->body = BODY_8BITMIME;
		else if (strcmp(v, "7BIT") == 0)
			env->body = BODY_7BIT;
		else
			return bad(p, "bad value for", key);
	} else if (strcmp(key, "body-forced") == 0 ||
	    strcmp(key, "smtputf8") == 0 || strcmp(key, "long-lines") == 0) {
		if (num(p, key, v, 0, 1, &n) == -1)
			return -1;
		if (key[0] == 'b')
			env->body_forced = (int)n;
		else if (key[0] == 's')
			env->smtputf8 = (int)n;
		else
			env->long_lines = (int)n;
	} else if (strcmp(key, "ret") == 0) {
		if (strcmp(v, "FULL") != 0 && strcmp(v, "HDRS") != 0)
			return bad(p, "bad value for", key);
		envelope_set(&env->dsn_ret, v);
	} else if (strcmp(key, "envid") == 0) {
		if (text(p, key, v, 0, &env->dsn_envid) == -1)
			return -1;
		if (str_has_ctl(env->dsn_envid))
			return bad(p, "control character in", key);
	} else if (strcmp(key, "host") == 0 || strcmp(key, "tls") == 0 ||
	    strcmp(key, "user") == 0 || strcmp(key, "auth") == 0) {
		char **slot = key[0] == 'h' ? &env->host : key[0] == 't' ?
		    &env->tls : key[0] == 'u' ? &env->user : &env->auth;

		if (text(p, key, v, 0, slot) == -1)
			return -1;
		if (str_has_ctl(*slot))
			return bad(p, "control character in", key);
	} else if (strcmp(key, "port") == 0) {
		if (num(p, key, v, 0, 65535, &n) == -1)
			return -1;
		env->port = (int)n;
	} else if (strcmp(key, "lifetime") == 0) {
		if (num(p, key, v, 0, INT_MAX, &n) == -1)
			return -1;
		env->lifetime = (int)n;
	} else if (strcmp(key, "attempts") == 0) {
		if (num(p, key, v, 0, INT_MAX, &n) == -1)
			return -1;
		env->attempts = (int)n;
	} else if (strcmp(key, "next-attempt") == 0) {
		if (num(p, key, v, 0, LLONG_MAX, &n) == -1)
			return -1;
		env->next_attempt = (time_t)n;
	} else if (strcmp(key, "hold") == 0) {
		if (strcmp(v, "auto") == 0)
			env->hold = HOLD_AUTO;
		else if (strcmp(v, "manual") == 0)
			env->hold = HOLD_MANUAL;
		else
			return bad(p, "bad value for", key);
	} else if (strcmp(key, "failed-at") == 0) {
		if (num(p, key, v, 0, LLONG_MAX, &n) == -1)
			return -1;
		env->failed_at = (time_t)n;
	} else if (strcmp(key, "requeued") == 0) {
		if (num(p, key, v, 0, LLONG_MAX, &n) == -1)
			return -1;
		env->requeued = (time_t)n;
	} else if (strcmp(key, "bounced") == 0) {
		if (num(p, key, v, 1, LLONG_MAX, &n) == -1)
			return -1;
		env->bounced = (time_t)n;
	} else if (strcmp(key, "bounce-id") == 0) {
		if (*v == '\0' || strlen(v) > 31 || strspn(v, "0123456789"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") !=
		    strlen(v))
			return bad(p, "bad value for", key);
		envelope_set(&env->bounce_id, v);
	} else if (strcmp(key, "bounce-to") == 0)
		return address(p, key, v, &env->bounce_to);
	else if (strcmp(key, "last-error") == 0)
		return text(p, key, v, 1, &env->last_error);
	else if (strcmp(key, "rcpts") == 0) {
		if (num(p, key, v, 1, LLONG_MAX, &p->nrcpts) == -1)
			return -1;
	} else if (strcmp(key, "rcpt") == 0)
		return parse_rcpt(p, v);
	else {
		/* Not ours (yet): kept as it was. */
		*colon = ':';
		strv_add(&env->extra, line);
	}
	return 0;
}

int
envelope_parse(struct envelope *env, const char *text, size_t len,
    struct err *e)
{
	struct parse p;
	const char *s = text, *end = text + len, *nl;
	char *line;
	int r;

	envelope_init(env);
	memset(&p, 0, sizeof(p));
	p.env = env;
	p.e = e;
	p.nrcpts = -1;
	while (s < end) {
		p.line++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL) {
			bad(&p, "cut short (no end of line)", NULL);
			goto fail;
		}
		if (memchr(s, '\0', (size_t)(nl - s)) != NULL) {
			bad(&p, "NUL byte", NULL);
			goto fail;
		}
		line = xstrndup(s, (size_t)(nl - s));
		r = parse_line(&p, line);
		free(line);
		if (r == -1)
			goto fail;
		s = nl + 1;
	}
	if (p.version != 1) {
		err_set(e, ERR_DATA, "not a posthorn queue envelope (version "
		    "line missing)");
		goto fail;
	}
	if (!p.have_sender || !p.have_size) {
		err_set(e, ERR_DATA, "no %s line", p.have_sender ? "size" :
		    "sender");
		goto fail;
	}
	if (env->nrcpt == 0) {
		err_set(e, ERR_DATA, "no recipient");
		goto fail;
	}
	if (p.nrcpts >= 0 && (unsigned long long)p.nrcpts != env->nrcpt) {
		err_set(e, ERR_DATA, "%zu recipient lines where there should "
		    "be %lld (the file was cut or changed)", env->nrcpt,
		    p.nrcpts);
		goto fail;
	}
	return 0;
fail:
	envelope_release(env);
	return -1;
}
