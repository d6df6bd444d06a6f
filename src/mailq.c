/*
 * mailq owns how the queue looks to a reader.  Text: one line per
 * message (id, age, size, sender, recipients, attempts, next try, last
 * error, and why this configuration leaves it alone when it does),
 * waiting messages first, then held ones with their reason, then failed
 * ones under their own heading.  JSON: one object per line with the same
 * facts, machine values (epoch seconds, octets) rather than human ones.
 * Nothing is cut: server text is stored capped (envelope.c) and shown
 * whole, with control characters made harmless for a terminal.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"
#include "err.h"
#include "jsonw.h"
#include "mailq.h"
#include "spool.h"
#include "util/alloc.h"
#include "util/buf.h"

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

/*
 * Text for a terminal, on one line: C0 controls and DEL become '?' (tab
 * and line ends a space), and so do C1 controls in UTF-8 (C2 80..9F).
 */
static void
put_line(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; p != NULL && *p != '\0'; p++) {
		if (*p == '\t' || *p == '\r' || *p == '\n')
			putc(' ', out);
		else if (*p < 0x20 || *p == 0x7f)
			putc('?', out);
		else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
			putc('?', out);
			p++;
		} else
			putc(*p, out);
	}
}

static const char *const states[] = { "pending", "done", "failed" };

static const char *
state_of(enum spool_area area, const struct envelope *env)
{
	if (area == SPOOL_FAILED)
		return "failed";
	if (env->hold == HOLD_MANUAL)
		return "held-by-hand";
	if (env->hold == HOLD_AUTO)
		return "held";
	return "queued";
}

static void
print_json(FILE *out, enum spool_area area, const char *id,
    const struct envelope *env, const char *why_not, const char *header,
    long uid)
{
	size_t i;

	fprintf(out, "{\"id\":");
	jsonw_str(out, id);
	fprintf(out, ",\"area\":\"%s\",\"created\":%lld,\"size\":%lld,"
	    "\"sender\":", area == SPOOL_FAILED ? "failed" : "queue",
	    (long long)env->created, (long long)env->size);
	jsonw_str(out, env->sender);
	fprintf(out, ",\"account\":");
	jsonw_str(out, env->account);
	fprintf(out, ",\"attempts\":%d,\"next_attempt\":%lld,"
	    "\"last_error\":", env->attempts, (long long)env->next_attempt);
	jsonw_str(out, env->last_error);
	fputs(",\"recipients\":[", out);
	for (i = 0; i < env->nrcpt; i++) {
		const struct rcpt *r = &env->rcpt[i];

		fprintf(out, "%s{\"address\":", i ? "," : "");
		jsonw_str(out, r->addr);
		fprintf(out, ",\"state\":\"%s\"", states[r->state]);
		if (r->reply != NULL) {
			fputs(",\"reply\":", out);
			jsonw_str(out, r->reply);
		}
		fputc('}', out);
	}
	fprintf(out, "],\"state\":\"%s\",\"conf\":", state_of(area, env));
	jsonw_str(out, env->conf);
	fputs(",\"route\":", out);
	jsonw_str(out, env->route_desc);
	fputs(",\"not_here\":", out);
	jsonw_str(out, why_not);
	if (env->failed_at != 0)
		fprintf(out, ",\"failed_at\":%lld", (long long)env->failed_at);
	if (env->bounced != 0) {
		fprintf(out, ",\"bounce\":{\"at\":%lld,\"id\":",
		    (long long)env->bounced);
		jsonw_str(out, env->bounce_id);
		fputs(",\"to\":", out);
		jsonw_str(out, env->bounce_to);
		fputc('}', out);
	}
	if (uid >= 0)
		fprintf(out, ",\"uid\":%ld", uid);
	if (header != NULL) {
		fputs(",\"header\":", out);
		jsonw_str(out, header);
	}
	fputs("}\n", out);
}

static void
print_text(FILE *out, const char *id, const struct envelope *env,
    time_t now, int failed, const char *why_not)
{
	char age[32], size[32], next[32];
	size_t i;
	int first = 1;

	human_age(age, sizeof(age), now - env->created);
	human_size(size, sizeof(size), (long long)env->size);
	fprintf(out, "%-17s %4s %6s <", id, age, size);
	put_line(out, env->sender);
	fputs("> ->", out);
	for (i = 0; i < env->nrcpt; i++) {
		if (env->rcpt[i].state == RCPT_DONE)
			continue;
		fputs(first ? " <" : ",<", out);
		put_line(out, env->rcpt[i].addr);
		fputc('>', out);
		first = 0;
	}
	fprintf(out, "  attempts %d", env->attempts);
	if (!failed && env->hold == HOLD_MANUAL)
		fputs(", held by hand", out);
	else if (!failed && env->next_attempt > now) {
		human_age(next, sizeof(next), env->next_attempt - now);
		fprintf(out, ", next in %s", next);
	}
	if (env->last_error != NULL) {
		fputs(!failed && env->hold == HOLD_AUTO ? ", held: " :
		    ", last error: ", out);
		put_line(out, env->last_error);
	}
	if (env->bounced != 0) {
		fputs("; bounce sent to <", out);
		put_line(out, env->bounce_to);
		fputc('>', out);
		if (env->bounce_id != NULL)
			fprintf(out, " as %s", env->bounce_id);
	}
	if (why_not != NULL) {
		fputs("; left alone here: ", out);
		put_line(out, why_not);
	}
	fputc('\n', out);
}

/* Which entries a pass lists: waiting, held, failed. */
enum pass { PASS_WAITING, PASS_HELD, PASS_FAILED };

struct totals {
	size_t		 n[3];
	long long	 bytes[3];
};

static int
list_pass(struct spool *sp, enum pass pass, const struct mailq_opts *o,
    FILE *out, struct totals *t, struct err *e)
{
	enum spool_area area = pass == PASS_FAILED ? SPOOL_FAILED :
	    SPOOL_QUEUE;
	char (*ids)[SPOOL_ID_MAX];
	struct envelope env;
	struct err pe;
	size_t n, i;
	char *why;
	int heading = 0;

	if (spool_list(sp, area, &ids, &n, e) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (spool_peek(sp, area, ids[i], &env, &pe) == -1) {
			/* Gone meanwhile, or without env (being removed):
			   not a message.  Damaged: say so, in its place. */
			if (pe.kind == ERR_TEMP || o->json ||
			    pass == PASS_HELD)
				continue;
			if (pass == PASS_FAILED && !heading++)
				fprintf(out, "-- failed (kept in %s):\n",
				    sp->area[SPOOL_FAILED]);
			fprintf(out, "%-17s damaged entry: ", ids[i]);
			put_line(out, pe.text);
			fputc('\n', out);
			continue;
		}
		if ((pass == PASS_HELD) != (area == SPOOL_QUEUE &&
		    env.hold != HOLD_NONE)) {
			envelope_release(&env);
			continue;
		}
		why = area == SPOOL_QUEUE && o->why_not != NULL ?
		    o->why_not(o->arg, &env) : NULL;
		if (o->json)
			print_json(out, area, ids[i], &env, why, NULL,
			    o->uid);
		else {
			if (pass == PASS_HELD && !heading++)
				fprintf(out, "-- held (fix the reason, then "
				    "posthorn -q; held by hand: posthorn "
				    "--release ID):\n");
			if (pass == PASS_FAILED && !heading++)
				fprintf(out, "-- failed (kept in %s):\n",
				    sp->area[SPOOL_FAILED]);
			print_text(out, ids[i], &env, o->now,
			    pass == PASS_FAILED, why);
		}
		free(why);
		t->n[pass]++;
		t->bytes[pass] += (long long)env.size;
		envelope_release(&env);
	}
	free(ids);
	return 0;
}

int
mailq_print(struct spool *sp, const struct mailq_opts *o, FILE *out,
    struct err *e)
{
	struct totals t;

	memset(&t, 0, sizeof(t));
	if (list_pass(sp, PASS_WAITING, o, out, &t, e) == -1 ||
	    list_pass(sp, PASS_HELD, o, out, &t, e) == -1)
		return -1;
	if (!o->json && t.n[PASS_WAITING] + t.n[PASS_HELD] == 0)
		fprintf(out, "Mail queue is empty\n");
	if (list_pass(sp, PASS_FAILED, o, out, &t, e) == -1)
		return -1;
	if (o->json)
		return 0;
	if (t.n[PASS_WAITING] > 0)
		fprintf(out, "-- %zu queued (%lld octets)\n",
		    t.n[PASS_WAITING], t.bytes[PASS_WAITING]);
	if (t.n[PASS_HELD] > 0)
		fprintf(out, "-- %zu held (%lld octets)\n", t.n[PASS_HELD],
		    t.bytes[PASS_HELD]);
	if (t.n[PASS_FAILED] > 0)
		fprintf(out, "-- %zu failed (%lld octets)\n",
		    t.n[PASS_FAILED], t.bytes[PASS_FAILED]);
	return 0;
}

/* ------------------------------------------------------------ --show */

/* The message's header, up to the empty line, into b (CRLF as LF). */
static void
read_header(struct spool *sp, enum spool_area area, const char *id,
    struct buf *b)
{
	char chunk[8192], *path;
	ssize_t n;
	size_t i;
	int fd, bol = 1, done = 0;

	path = xasprintf("%s/%s/msg", sp->area[area], id);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(path);
	if (fd == -1)
		return;
	while (!done && (n = read(fd, chunk, sizeof(chunk))) > 0) {
		for (i = 0; i < (size_t)n && !done; i++) {
			if (chunk[i] == '\r')
				continue;
			if (chunk[i] == '\n' && bol) {
				done = 1;
				break;
			}
			buf_addc(b, chunk[i]);
			bol = chunk[i] == '\n';
		}
	}
	close(fd);
}

int
mailq_show(struct spool *sp, const char *id, const struct mailq_opts *o,
    FILE *out, struct err *e)
{
	struct envelope env;
	struct buf hdr;
	char age[32], *why = NULL, *line, *save = NULL;
	int area;
	size_t i;

	if ((area = spool_where(sp, id)) == -1)
		return err_set(e, ERR_NOINPUT, "no queued message %s (see "
		    "posthorn -bp)", id);
	if (spool_peek(sp, (enum spool_area)area, id, &env, e) == -1)
		return -1;
	if (area == SPOOL_QUEUE && o->why_not != NULL)
		why = o->why_not(o->arg, &env);
	buf_init(&hdr, 0);
	read_header(sp, (enum spool_area)area, id, &hdr);
	if (o->json) {
		/* The listing's object, with the header. */
		print_json(out, (enum spool_area)area, id, &env, why,
		    buf_str(&hdr), o->uid);
		goto out;
	}
	human_age(age, sizeof(age), o->now - env.created);
	fprintf(out, "id: %s\nstate: %s", id, state_of((enum spool_area)area,
	    &env));
	if (env.last_error != NULL && env.hold != HOLD_MANUAL) {
		fputs(area == SPOOL_FAILED ? " (" : " (last error: ", out);
		put_line(out, env.last_error);
		fputc(')', out);
	}
	fprintf(out, "\nwhere: %s/%s\nage: %s\nsize: %lld octets\n"
	    "attempts: %d\n", sp->area[area], id, age, (long long)env.size,
	    env.attempts);
	if (env.bounced != 0) {
		fputs("bounce: sent to <", out);
		put_line(out, env.bounce_to);
		fputc('>', out);
		if (env.bounce_id != NULL)
			fprintf(out, " as %s", env.bounce_id);
		fputc('\n', out);
	}
	if (area == SPOOL_QUEUE && env.next_attempt > o->now &&
	    env.hold != HOLD_MANUAL) {
		human_age(age, sizeof(age), env.next_attempt - o->now);
		fprintf(out, "next attempt: in %s\n", age);
	}
	fputs("sender: <", out);
	put_line(out, env.sender);
	fputs(">\n", out);
	for (i = 0; i < env.nrcpt; i++) {
		fputs("recipient: <", out);
		put_line(out, env.rcpt[i].addr);
		fprintf(out, "> %s", states[env.rcpt[i].state]);
		if (env.rcpt[i].reply != NULL) {
			fputs(": ", out);
			put_line(out, env.rcpt[i].reply);
		}
		fputc('\n', out);
	}
	if (env.route_desc != NULL || env.conf != NULL || env.account) {
		fputs("route: ", out);
		put_line(out, env.route_desc != NULL ? env.route_desc :
		    "(not recorded)");
		if (env.account != NULL) {
			fputs(", account ", out);
			put_line(out, env.account);
		}
		if (env.conf != NULL) {
			fputs(", from ", out);
			put_line(out, env.conf);
		}
		fputc('\n', out);
	}
	if (why != NULL) {
		fputs("left alone here: ", out);
		put_line(out, why);
		fputc('\n', out);
	}
	fputs("header:\n", out);
	for (line = strtok_r(hdr.data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		fputs("  ", out);
		put_line(out, line);
		fputc('\n', out);
	}
out:
	buf_release(&hdr);
	free(why);
	envelope_release(&env);
	return 0;
}
