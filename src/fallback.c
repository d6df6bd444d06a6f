/*
 * fallback owns the ordered list of routes an account delivers through:
 * resolving `fallback ACCOUNT...` into the accounts it names, walking
 * the list, and the one rule that decides whether a failure may move on
 * to the next route.  The rule errs on the side of no duplicates: once
 * the server can have taken the message (anything after the end of the
 * data) the failure is the message's, never a reason to try elsewhere.
 * deliver.c does the walking; route.c puts the list into the identity
 * of the route a queued message keeps.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "err.h"
#include "fallback.h"
#include "smtp.h"
#include "util/alloc.h"
#include "util/sig.h"

/* Resolves a's list; 0 or -1. */
static int
fallback_resolve_one(struct conf *c, struct account *a, struct err *e)
{
	const char *p = a->fallback, *end;
	struct account *to;
	char name[256];
	size_t n, i;

	free(a->fallback_to);
	a->fallback_to = NULL;
	a->nfallback = 0;
	if (p == NULL)
		return 0;
	a->fallback_to = xcalloc(FALLBACK_MAX, sizeof(*a->fallback_to));
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		for (end = p; *end != '\0' && *end != ' ' && *end != '\t' &&
		    *end != ','; end++)
			;
		n = (size_t)(end - p);
		if (n >= sizeof(name))
			return err_set(e, ERR_CONFIG, "%s:%d: account '%s': "
			    "fallback names an account whose name is too "
			    "long", a->file, a->line, a->name);
		memcpy(name, p, n);
		name[n] = '\0';
		p = end;
		to = conf_account(c, name);
		if (to == NULL)
			return err_set(e, ERR_CONFIG, "%s:%d: account '%s': "
			    "fallback names account '%s', which is not "
			    "defined", a->file, a->line, a->name, name);
		/* Itself: skipped, so a defaults section may name the
		   backup relay for every account, the backup included. */
		if (to == a)
			continue;
		for (i = 0; i < a->nfallback; i++)
			if (a->fallback_to[i] == to)
				return err_set(e, ERR_CONFIG, "%s:%d: account "
				    "'%s': fallback names account '%s' twice",
				    a->file, a->line, a->name, name);
		if (a->nfallback == FALLBACK_MAX)
			return err_set(e, ERR_CONFIG, "%s:%d: account '%s': "
			    "fallback names more than %d accounts", a->file,
			    a->line, a->name, FALLBACK_MAX);
		a->fallback_to[a->nfallback++] = to;
	}
	return 0;
}

int
fallback_resolve(struct conf *c, struct err *e)
{
	size_t i;

	for (i = 0; i < c->naccounts; i++)
		if (fallback_resolve_one(c, c->accounts[i], e) == -1)
			return -1;
	return 0;
}

size_t
fallback_count(const struct account *a)
{
	return 1 + a->nfallback;
}

const struct account *
fallback_route(const struct account *a, size_t i)
{
	if (i == 0)
		return a;
	if (i - 1 < a->nfallback)
		return a->fallback_to[i - 1];
	return NULL;
}

int
fallback_moves_on(const struct err *e)
{
	if (sig_caught)
		return 0;
	switch (e->kind) {
	case ERR_NOHOST:
		/* A relay whose name no longer resolves. */
		return 1;
	case ERR_TEMP:
	case ERR_PROTOCOL:
		/* Up to and including the data, before its end's reply. */
		return e->phase > 0 && e->phase <= SMTP_BODY + 1;
	case ERR_UNAVAILABLE:
		/* A certificate we cannot trust, STARTTLS not offered. */
		return e->phase == SMTP_TLS + 1 ||
		    e->phase == SMTP_STARTTLS + 1;
	case ERR_NOPERM:
		/* 535 and the like: another relay, other credentials. */
		return e->phase == SMTP_AUTH + 1 ||
		    e->phase == SMTP_CONNECT + 1;
	default:
		return 0;
	}
}
