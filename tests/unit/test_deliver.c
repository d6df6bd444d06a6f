/*
 * test_deliver: the one line a partial delivery prints — who got the
 * message, who was refused and deferred with the servers' replies — and
 * its one cap: at most SUMMARY_NAMES (10) names a list, then "and N more",
 * never a silent cut.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "envelope.h"
#include "util/alloc.h"
#include "t.h"

static void
add(struct envelope *env, const char *addr, enum rcpt_state st, int code,
    const char *reply)
{
	struct rcpt *r = envelope_add_rcpt(env, addr);

	r->state = st;
	r->code = code;
	r->reply = reply ? xstrdup(reply) : NULL;
}

int
main(void)
{
	struct envelope env;
	char addr[64], *line;
	int i;

	envelope_init(&env);
	add(&env, "a@example.org", RCPT_DONE, 250, "250 ok");
	add(&env, "b@example.org", RCPT_FAILED, 550, "550 5.1.1 no such user");
	add(&env, "c@example.org", RCPT_PENDING, 451, "451 4.2.0 later");
	line = deliver_summary(&env);
	t_streq(line, "delivered to 1 of 3 recipients; rejected: "
	    "<b@example.org> (550 5.1.1 no such user); deferred: "
	    "<c@example.org> (451 4.2.0 later)", "the line names both lists");
	free(line);
	envelope_release(&env);

	/* Ten rejected: every one named. */
	envelope_init(&env);
	add(&env, "ok@example.org", RCPT_DONE, 250, NULL);
	for (i = 0; i < 10; i++) {
		snprintf(addr, sizeof(addr), "r%d@example.org", i);
		add(&env, addr, RCPT_FAILED, 550, "550 no");
	}
	line = deliver_summary(&env);
	t_ok(strstr(line, "<r9@example.org> (550 no)") != NULL &&
	    strstr(line, "more") == NULL, "ten rejected: all ten named");
	free(line);
	/* One over the cap: said, not cut. */
	add(&env, "r10@example.org", RCPT_FAILED, 550, "550 no");
	line = deliver_summary(&env);
	t_ok(strstr(line, "<r9@example.org> (550 no) and 1 more (see "
	    "posthorn -bp)") != NULL && strstr(line, "r10@") == NULL,
	    "eleven rejected: ten named, \"and 1 more\": %s", line);
	t_ok(strncmp(line, "delivered to 1 of 12 recipients;", 32) == 0,
	    "the counts are whole");
	free(line);
	envelope_release(&env);

	/* A reply over the envelope's cap is shown capped, with "...". */
	envelope_init(&env);
	{
		char *big = xmalloc(ENVELOPE_REPLY_MAX + 2);

		memset(big, 'z', ENVELOPE_REPLY_MAX + 1);
		big[ENVELOPE_REPLY_MAX + 1] = '\0';
		add(&env, "b@example.org", RCPT_FAILED, 550, big);
		add(&env, "a@example.org", RCPT_DONE, 250, NULL);
		line = deliver_summary(&env);
		t_ok(strstr(line, "z...)") != NULL, "a long reply ends in ...");
		free(line);
		free(big);
	}
	envelope_release(&env);
	return t_done();
}
