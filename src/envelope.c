/*
 * envelope owns the in-memory envelope: recipients without duplicates and
 * the strings that hang off it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "util/alloc.h"

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
	free(env->host);
	free(env->tls);
	free(env->user);
	free(env->auth);
	memset(env, 0, sizeof(*env));
}

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

struct rcpt *
envelope_add_rcpt(struct envelope *env, const char *addr)
{
	struct rcpt *r;
	size_t i;

	for (i = 0; i < env->nrcpt; i++)
		if (same_addr(env->rcpt[i].addr, addr))
			return NULL;
	env->rcpt = xreallocarray(env->rcpt, env->nrcpt + 1,
	    sizeof(*env->rcpt));
	r = &env->rcpt[env->nrcpt++];
	memset(r, 0, sizeof(*r));
	r->addr = xstrdup(addr);
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
	free(*slot);
	*slot = s != NULL ? xstrdup(s) : NULL;
}
