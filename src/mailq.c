/*
 * mailq owns how the queue looks to a reader.  Text: one line per
 * message (id, age, size, sender, recipients, attempts, next try, last
 * error), waiting messages first, failed ones after under their own
 * heading.  JSON: one object per line with the same facts, machine
 * values (epoch seconds, octets) rather than human ones.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "err.h"
#include "mailq.h"
#include "spool.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/str.h"

static void
human_age(char *out, size_t n, time_t secs)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(out, n, "%llds", (long long)secs);
	else if (secs < 3600)
		snprintf(out, n, "%lldm", (long long)secs / 60);
	else if (secs < 86400)
		snprintf(out, n, "%lldh", (long long)secs / 3600);
	else
		snprintf(out, n, "%lldd", (long long)secs / 86400);
}

static void
human_size(char *out, size_t n, long long size)
{
	if (size < 10 * 1024)
		snprintf(out, n, "%lld", size);
	else if (size < 10 * 1024 * 1024)
		snprintf(out, n, "%lldK", size / 1024);
	else
		snprintf(out, n, "%lldM", size / (1024 * 1024));
}

static void
json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; s != NULL && *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static const char *const states[] = { "pending", "done", "failed" };

static void
print_json(FILE *out, const char *area, const char *id,
    const struct envelope *env)
{
	size_t i;

	fprintf(out, "{\"id\":");
	json_str(out, id);
	fprintf(out, ",\"area\":\"%s\",\"created\":%lld,\"size\":%lld,"
	    "\"sender\":", area, (long long)env->created,
	    (long long)env->size);
	json_str(out, env->sender);
	fprintf(out, ",\"account\":");
	if (env->account != NULL)
		json_str(out, env->account);
	else
		fputs("null", out);
	fprintf(out, ",\"attempts\":%d,\"next_attempt\":%lld,"
	    "\"last_error\":", env->attempts, (long long)env->next_attempt);
	if (env->last_error != NULL)
		json_str(out, env->last_error);
	else
		fputs("null", out);
	fputs(",\"recipients\":[", out);
	for (i = 0; i < env->nrcpt; i++) {
		const struct rcpt *r = &env->rcpt[i];

		fprintf(out, "%s{\"address\":", i ? "," : "");
		json_str(out, r->addr);
		fprintf(out, ",\"state\":\"%s\"", states[r->state]);
		if (r->reply != NULL) {
			fputs(",\"reply\":", out);
			json_str(out, r->reply);
		}
		fputc('}', out);
	}
	fputs("]}\n", out);
}

static void
print_text(FILE *out, const char *id, const struct envelope *env,
    time_t now, int failed)
{
	char age[32], size[32], next[32];
	size_t i;
	int first = 1;

	human_age(age, sizeof(age), now - env->created);
	human_size(size, sizeof(size), (long long)env->size);
	fprintf(out, "%-17s %4s %6s <%s> ->", id, age, size, env->sender);
	for (i = 0; i < env->nrcpt; i++) {
		if (env->rcpt[i].state == RCPT_DONE)
			continue;
		fprintf(out, "%s<%s>", first ? " " : ",", env->rcpt[i].addr);
		first = 0;
	}
	fprintf(out, "  attempts %d", env->attempts);
	if (!failed && env->next_attempt > now) {
		human_age(next, sizeof(next), env->next_attempt - now);
		fprintf(out, ", next in %s", next);
	}
	if (env->last_error != NULL) {
		char one[512];

		str_oneline(one, sizeof(one), env->last_error,
		    strlen(env->last_error));
		fprintf(out, ", last error: %s", one);
	}
	fputc('\n', out);
}

static int
list_area(struct spool *sp, enum spool_area area, int json, time_t now,
    FILE *out, size_t *count, long long *bytes, int *heading, struct err *e)
{
	char (*ids)[SPOOL_ID_MAX];
	struct envelope env;
	struct err pe;
	size_t n, i;

	if (spool_list(sp, area, &ids, &n, e) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (spool_peek(sp, area, ids[i], &env, &pe) == -1) {
			/* Gone meanwhile, or without env (being removed):
			   not a message.  Damaged: say so, in its place. */
			if (pe.kind == ERR_TEMP || json)
				continue;
			if (area == SPOOL_FAILED && !*heading) {
				fprintf(out, "-- failed (kept in %s):\n",
				    sp->area[SPOOL_FAILED]);
				*heading = 1;
			}
			fprintf(out, "%-17s damaged entry: %s\n", ids[i],
			    pe.text);
			continue;
		}
		if (json)
			print_json(out, area == SPOOL_FAILED ? "failed" :
			    "queue", ids[i], &env);
		else {
			if (area == SPOOL_FAILED && !*heading) {
				fprintf(out, "-- failed (kept in %s):\n",
				    sp->area[SPOOL_FAILED]);
				*heading = 1;
			}
			print_text(out, ids[i], &env, now,
			    area == SPOOL_FAILED);
		}
		(*count)++;
		*bytes += (long long)env.size;
		envelope_release(&env);
	}
	free(ids);
	return 0;
}

int
mailq_print(struct spool *sp, int json, time_t now, FILE *out,
    struct err *e)
{
	size_t queued = 0, failed = 0;
	long long qbytes = 0, fbytes = 0;
	int heading = 0;

	if (list_area(sp, SPOOL_QUEUE, json, now, out, &queued, &qbytes,
	    &heading, e) == -1)
		return -1;
	if (!json && queued == 0)
		fprintf(out, "Mail queue is empty\n");
	if (list_area(sp, SPOOL_FAILED, json, now, out, &failed, &fbytes,
	    &heading, e) == -1)
		return -1;
	if (!json && queued > 0)
		fprintf(out, "-- %zu queued (%lld octets)\n", queued, qbytes);
	if (!json && failed > 0)
		fprintf(out, "-- %zu failed (%lld octets)\n", failed, fbytes);
	return 0;
}
