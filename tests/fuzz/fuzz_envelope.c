/*
 * fuzz_envelope: the queue's entry files.  The input's first byte picks
 * the mode:
 *
 *   even: the bytes are an env file for envelope_parse.  A file it takes
 *   must hold only what a server may be sent (every address valid, no
 *   control characters), and must write back to a file that parses to the
 *   same text (the round trip is stable); a file it refuses leaves the
 *   envelope empty.
 *
 *   odd: the bytes are split at the first NUL into env and msg files of a
 *   queue entry in a real queue (in /dev/shm when there is one, where the
 *   fsyncs of a quarantine cost nothing; else /tmp), which spool_lock
 *   then takes:
 *   a damaged entry — an env that does not parse, a msg whose size is not
 *   the one env says — must be moved to failed/ (quarantined), never
 *   locked for delivery; a sane one must be locked with its envelope.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "envelope.h"
#include "err.h"
#include "spool.h"
#include "util/alloc.h"
#include "util/str.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
format(const struct envelope *env, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (f == NULL)
		abort();
	if (envelope_write(env, f) == -1)
		abort();
	fclose(f);
	return text;
}

/* What a parsed envelope must never hold. */
static void
check_sane(const struct envelope *env)
{
	size_t i;

	if (env->sender == NULL || env->nrcpt == 0)
		abort();
	if (env->sender[0] != '\0' && (!addr_valid_spec(env->sender, 0) ||
	    str_has_ctl(env->sender)))
		abort();
	for (i = 0; i < env->nrcpt; i++) {
		const struct rcpt *r = &env->rcpt[i];

		if (r->addr == NULL || r->addr[0] == '\0' ||
		    !addr_valid_spec(r->addr, 0) || str_has_ctl(r->addr))
			abort();
		if (r->state > RCPT_FAILED)
			abort();
		if (r->reply != NULL && (strchr(r->reply, '\r') ||
		    strchr(r->reply, '\n')))
			abort();
	}
}

static void
env_mode(const uint8_t *data, size_t size)
{
	struct envelope env, again;
	struct err e;
	char *t1, *t2;
	size_t l1, l2;

	err_clear(&e);
	if (envelope_parse(&env, (const char *)data, size, &e) == -1) {
		if (env.nrcpt != 0 || env.sender != NULL || e.kind != ERR_DATA)
			abort();
		return;
	}
	check_sane(&env);
	t1 = format(&env, &l1);
	if (envelope_parse(&again, t1, l1, &e) == -1)
		abort();
	t2 = format(&again, &l2);
	if (l1 != l2 || memcmp(t1, t2, l1) != 0)
		abort();
	free(t1);
	free(t2);
	envelope_release(&again);
	envelope_release(&env);
}

static char *top, *qdir;

/* Removes an entry directory and what spool writes in it. */
static void
rm_entry(const char *area, const char *id)
{
	static const char *const files[] = { "env", "env.new", "msg" };
	char *p;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		p = xasprintf("%s/%s/%s", area, id, files[i]);
		unlink(p);
		free(p);
	}
	p = xasprintf("%s/%s", area, id);
	rmdir(p);
	free(p);
}

static void
cleanup(void)
{
	static const char *const dirs[] = { "q/tmp", "q/queue", "q/failed",
	    "q", "" };
	size_t i;
	char *p;

	for (i = 0; top != NULL && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		p = xasprintf("%s/%s", top, dirs[i]);
		rmdir(p);
		free(p);
	}
}

static void
put(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0)
		abort();
}

static void
entry_mode(const uint8_t *data, size_t size)
{
	static const char id[] = "6B0000000000AFUZZ";
	const uint8_t *nul = memchr(data, 0, size);
	size_t envlen = nul ? (size_t)(nul - data) : size;
	struct spool s;
	struct spool_entry ent;
	struct envelope parsed;
	struct err e;
	char *dir, *p;
	int r, sane;

	if (qdir == NULL) {
		char shm[] = "/dev/shm/fuzz-envelope-XXXXXX";
		char tmp[] = "/tmp/fuzz-envelope-XXXXXX";
		char *tmpl = mkdtemp(shm) != NULL ? shm : tmp;

		if (tmpl == tmp && mkdtemp(tmp) == NULL)
			abort();
		top = xstrdup(tmpl);
		qdir = xasprintf("%s/q", tmpl);
		atexit(cleanup);
	}
	if (spool_open(&s, qdir, &e) == -1)
		abort();
	dir = xasprintf("%s/%s", s.area[SPOOL_QUEUE], id);
	mkdir(dir, 0700);
	p = xasprintf("%s/env", dir);
	put(p, data, envlen);
	free(p);
	p = xasprintf("%s/msg", dir);
	put(p, nul ? nul + 1 : (const uint8_t *)"", nul ? size - envlen - 1 :
	    0);
	free(p);

	/* Sane: the env parses and the msg has the size it says. */
	err_clear(&e);
	sane = envelope_parse(&parsed, (const char *)data, envlen, &e) == 0 &&
	    parsed.size == (off_t)(nul ? size - envlen - 1 : 0);
	if (e.kind == ERR_NONE)
		envelope_release(&parsed);

	r = spool_lock(&s, SPOOL_QUEUE, id, &ent, &e);
	if (sane) {
		if (r != 1)
			abort();
		check_sane(&ent.env);
		spool_release(&ent);
	} else {
		/* Quarantined: gone from queue/, whole in failed/. */
		if (r != -1 || spool_where(&s, id) != SPOOL_FAILED)
			abort();
	}
	rm_entry(s.area[SPOOL_QUEUE], id);
	rm_entry(s.area[SPOOL_FAILED], id);
	free(dir);
	spool_close(&s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	if (data[0] & 1)
		entry_mode(data + 1, size - 1);
	else
		env_mode(data + 1, size - 1);
	return 0;
}
