/*
 * test_envelope: the envelope and its env file — recipients without
 * duplicates (in linear time), what is capped (server text, with a
 * visible "...") and what never is (addresses, the file itself), a
 * byte-exact round trip of a large list, and damaged files refused.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "err.h"
#include "jsonw.h"
#include "util/alloc.h"
#include "t.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

/* env as its file's text (malloc'd, *len set). */
static char *
format(const struct envelope *env, size_t *len)
{
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (f == NULL || envelope_write(env, f) == -1) {
		if (f != NULL)
			fclose(f);
		free(text);
		return NULL;
	}
	fclose(f);
	return text;
}

static void
base(struct envelope *env)
{
	envelope_init(env);
	env->sender = xstrdup("alice@example.org");
	env->created = 1763904000;
	env->size = 10;
	envelope_add_rcpt(env, "bob@example.org");
}

static void
test_dedupe(void)
{
	struct envelope env;
	char addr[64];
	clock_t t0;
	size_t i;

	envelope_init(&env);
	t_ok(envelope_add_rcpt(&env, "a@Example.org") != NULL, "first added");
	t_ok(envelope_add_rcpt(&env, "a@example.ORG") == NULL,
	    "domain compared without case: duplicate");
	t_ok(envelope_add_rcpt(&env, "A@example.org") != NULL,
	    "local part compared exactly: not a duplicate");
	t_ok(envelope_add_rcpt(&env, "a") != NULL &&
	    envelope_add_rcpt(&env, "a") == NULL, "unqualified duplicate");
	envelope_release(&env);

	/* 100,000 distinct, then all again: linear, not quadratic. */
	envelope_init(&env);
	t0 = clock();
	for (i = 0; i < 100000; i++) {
		snprintf(addr, sizeof(addr), "u%zu@example.org", i);
		envelope_add_rcpt(&env, addr);
	}
	for (i = 0; i < 100000; i++) {
		snprintf(addr, sizeof(addr), "u%zu@EXAMPLE.org", i);
		if (envelope_add_rcpt(&env, addr) != NULL)
			break;
	}
	t_inteq(env.nrcpt, 100000, "100,000 recipients, each once");
	t_ok((double)(clock() - t0) / CLOCKS_PER_SEC < 20.0,
	    "200,000 additions in well under the quadratic time (%.2f s)",
	    (double)(clock() - t0) / CLOCKS_PER_SEC);
	envelope_release(&env);
}

static void
test_capped(void)
{
	char long_reply[ENVELOPE_REPLY_MAX + 2], *slot = NULL;

	memset(long_reply, 'x', sizeof(long_reply));
	long_reply[ENVELOPE_REPLY_MAX] = '\0';
	t_ok(envelope_set_capped(&slot, long_reply, ENVELOPE_REPLY_MAX) == 0 &&
	    strcmp(slot, long_reply) == 0, "reply at the cap: kept whole");
	long_reply[ENVELOPE_REPLY_MAX] = 'y';
	long_reply[ENVELOPE_REPLY_MAX + 1] = '\0';
	t_ok(envelope_set_capped(&slot, long_reply, ENVELOPE_REPLY_MAX) == 1,
	    "reply one byte over the cap: cut");
	t_inteq(strlen(slot), ENVELOPE_REPLY_MAX, "cut to the cap");
	t_ok(strcmp(slot + ENVELOPE_REPLY_MAX - 3, "...") == 0,
	    "the cut is visible: ends in ...");
	/* A cut never splits a UTF-8 character. */
	memset(long_reply, 'x', sizeof(long_reply));
	memcpy(long_reply + ENVELOPE_REPLY_MAX - 4, "\xc3\xa9\xc3\xa9", 4);
	long_reply[ENVELOPE_REPLY_MAX + 1] = '\0';
	envelope_set_capped(&slot, long_reply, ENVELOPE_REPLY_MAX);
	t_ok(strlen(slot) == ENVELOPE_REPLY_MAX - 1 &&
	    strcmp(slot + strlen(slot) - 4, "x...") == 0,
	    "a cut in the middle of a character drops the character");
	free(slot);
}

/* Long replies are capped when stored; the addresses next to them never. */
static void
test_roundtrip_large(void)
{
	struct envelope env, back;
	char addr[64], reply[2000], *text, *text2;
	struct err e;
	size_t len, len2, i, bad = 0;

	base(&env);
	memset(reply, 'r', sizeof(reply) - 1);
	reply[sizeof(reply) - 1] = '\0';
	memcpy(reply, "250 2.1.5 ", 10);
	for (i = 0; i < 25000; i++) {
		struct rcpt *r;

		snprintf(addr, sizeof(addr), "u%zu@example.com%s", i,
		    i % 2 ? ".au" : "");
		r = envelope_add_rcpt(&env, addr);
		r->code = 250;
		r->reply = xstrdup(reply);
	}
	env.last_error = xstrdup(reply);
	text = format(&env, &len);
	t_ok(text != NULL && len > 4 * 1024 * 1024,
	    "25,001 recipients with 2000-octet replies: a %zu-octet file is "
	    "written whole (over the old 4 MiB)", len);
	err_clear(&e);
	t_ok(envelope_parse(&back, text, len, &e) == 0,
	    "and parsed back: %s", e.text);
	t_inteq(back.nrcpt, env.nrcpt, "every recipient survives");
	for (i = 0; i < env.nrcpt; i++)
		if (strcmp(back.rcpt[i].addr, env.rcpt[i].addr) != 0 ||
		    back.rcpt[i].code != env.rcpt[i].code)
			bad++;
	t_inteq(bad, 0, "every address byte-exact, in order");
	t_ok(strlen(back.rcpt[3394].reply) == ENVELOPE_REPLY_MAX &&
	    strcmp(back.rcpt[3394].reply + ENVELOPE_REPLY_MAX - 3, "...") ==
	    0, "a long reply is stored capped with its ...");
	t_ok(strlen(back.last_error) == ENVELOPE_ERROR_MAX,
	    "the last error too");
	text2 = format(&back, &len2);
	t_ok(text2 != NULL && len2 == len && memcmp(text, text2, len) == 0,
	    "a second round trip is byte-exact");
	free(text);
	free(text2);
	envelope_release(&env);
	envelope_release(&back);
}

static void
test_fields(void)
{
	struct envelope env, back;
	struct err e;
	struct rcpt *r;
	char *text;
	size_t len;

	base(&env);
	env.sender[0] = '\0';
	env.account = xstrdup("work acct");
	env.conf = xstrdup("/home/a b/.config/posthorn/config");
	env.route = xstrdup("0123456789abcdef");
	env.route_desc = xstrdup("smtp.example.org:587 (STARTTLS)");
	env.hold = HOLD_MANUAL;
	env.failed_at = 5;
	env.requeued = 6;
	env.lifetime = 3600;
	env.port = 2525;
	env.host = xstrdup("h");
	strv_add(&env.extra, "bounce: sent 1763904000");
	r = envelope_add_rcpt(&env, "\"odd local\"@example.org");
	r->notify = xstrdup("SUCCESS,FAILURE");
	r->orcpt = xstrdup("rfc822 x+y=z@example.org");
	r->state = RCPT_FAILED;
	text = format(&env, &len);
	err_clear(&e);
	t_ok(envelope_parse(&back, text, len, &e) == 0, "fields parse: %s",
	    e.text);
	t_streq(back.sender, "", "null sender");
	t_streq(back.account, "work acct", "account with a space");
	t_streq(back.conf, env.conf, "conf path");
	t_streq(back.route, "0123456789abcdef", "route");
	t_streq(back.route_desc, env.route_desc, "route-desc");
	t_ok(back.hold == HOLD_MANUAL && back.failed_at == 5 &&
	    back.requeued == 6 && back.lifetime == 3600 && back.port == 2525,
	    "hold, failed-at, requeued, lifetime, port");
	t_ok(back.extra.n == 1 && strcmp(back.extra.v[0],
	    "bounce: sent 1763904000") == 0, "an unknown key is kept");
	t_ok(back.nrcpt == 2 && strcmp(back.rcpt[1].addr,
	    "\"odd local\"@example.org") == 0 && back.rcpt[1].state ==
	    RCPT_FAILED && strcmp(back.rcpt[1].notify, "SUCCESS,FAILURE") == 0 &&
	    strcmp(back.rcpt[1].orcpt, env.rcpt[1].orcpt) == 0,
	    "recipient with quoted local part, notify, orcpt, state");
	free(text);
	envelope_release(&env);
	envelope_release(&back);
}

/* Damaged files: refused with a reason, never half taken. */
static void
test_damaged(void)
{
	static const struct {
		const char *text, *why;
	} cases[] = {
		{ "posthorn-queue: 1\nsender: a@b\nsize: 1\nrcpt: pending b@c",
		    "cut short" },
		{ "posthorn-queue: 1\nsender: a@b\nsize: 1\nrcpts: 2\n"
		    "rcpt: pending b@c\n", "recipient lines" },
		{ "posthorn-queue: 1\nsender: a@b\nsize: 1\n"
		    "rcpt: pending u3394@example.com+0A\n", "control" },
		{ "posthorn-queue: 1\nsender: a@b\nsize: 1\n"
		    "rcpt: pending not+20an+20address\n", "not an address" },
		{ "posthorn-queue: 1\nsender: a@b\nsize: 1\n"
		    "rcpt: pending +\n", "xtext" },
		{ "posthorn-queue: 1\nsender: a@b\nsize: -1\n"
		    "rcpt: pending b@c\n", "out of range" },
		{ "posthorn-queue: 1\nsender: a@b\nsize: 1\n", "no recipient" },
		{ "posthorn-queue: 2\nsender: a@b\nsize: 1\n"
		    "rcpt: pending b@c\n", "out of range" },
		{ "sender: a@b\nsize: 1\nrcpt: pending b@c\n", "version" },
		{ "posthorn-queue: 1\nsize: 1\nrcpt: pending b@c\n",
		    "no sender" },
		{ "posthorn-queue: 1\nsender: a@b\nsize: 1\n"
		    "rcpt: maybe b@c\n", "state" },
		{ "posthorn-queue: 1\nsender: a@b\nsize: 1\nnonsense\n"
		    "rcpt: pending b@c\n", "key: value" },
		{ "posthorn-queue: 1\nsender: a@b\nsize: 1\nhold: soon\n"
		    "rcpt: pending b@c\n", "hold" },
		{ "posthorn-queue: 1\nsender: a@b\nsize: 1\nport: 70000\n"
		    "rcpt: pending b@c\n", "out of range" },
		{ "posthorn-queue: 1\nsender: a@b\nsize: 1\nhost: x+0Dy\n"
		    "rcpt: pending b@c\n", "control" },
	};
	struct envelope env;
	struct err e;
	size_t i;

	for (i = 0; i < N(cases); i++) {
		err_clear(&e);
		int r = envelope_parse(&env, cases[i].text,
		    strlen(cases[i].text), &e);

		t_ok(r == -1 && e.kind == ERR_DATA && strstr(e.text,
		    cases[i].why) != NULL && env.nrcpt == 0 &&
		    env.sender == NULL, "damaged file %zu refused (%s)", i,
		    cases[i].why);
		if (r != -1 || strstr(e.text, cases[i].why) == NULL)
			t_diag("got: %s", e.text);
	}
	/* An older file without "rcpts" is taken as it is. */
	const char *old = "posthorn-queue: 1\ncreated: 1\naccount: work\n"
	    "sender: a@b.example\nsize: 3\nbody: 7BIT\nattempts: 0\n"
	    "next-attempt: 0\nrcpt: pending b@c.example\n";
	t_ok(envelope_parse(&env, old, strlen(old), &e) == 0 &&
	    env.nrcpt == 1 && env.route == NULL, "an entry of the older "
	    "format (no rcpts, no route) still parses");
	envelope_release(&env);
}

static void
test_json(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "\"plain\"" },
		{ "q\"b\\", "\"q\\\"b\\\\\"" },
		{ "nl\ntab\tbell\a", "\"nl\\ntab\\tbell\\u0007\"" },
		{ "bad \xff byte", "\"bad \\ufffd byte\"" },
		{ "overlong \xc0\xaf", "\"overlong \\ufffd\\ufffd\"" },
		{ "surrogate \xed\xa0\x80", "\"surrogate \\ufffd\\ufffd\\ufffd\"" },
		{ "c1 \xc2\x85", "\"c1 \\u0085\"" },
		{ "utf8 \xc3\xa9", "\"utf8 \xc3\xa9\"" },
		{ "cut \xe2\x82", "\"cut \\ufffd\\ufffd\"" },
	};
	char *text;
	size_t len, i;
	FILE *f;

	for (i = 0; i < N(cases); i++) {
		text = NULL;
		f = open_memstream(&text, &len);
		jsonw_str(f, cases[i].in);
		fclose(f);
		t_streq(text, cases[i].out, "JSON string %zu", i);
		free(text);
	}
}

int
main(void)
{
	test_dedupe();
	test_capped();
	test_roundtrip_large();
	test_fields();
	test_damaged();
	test_json();
	return t_done();
}
