/*
 * test_draft: the draft parser — which lines are fields, which are
 * refused, where the body starts.
 */
#include "config.h"

#include <string.h>

#include "draft.h"
#include "err.h"
#include "t.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char	*text;
	int		 ok;
	const char	*to0, *subject, *body, *hint;
	size_t		 nto, ncc, nbcc, nattach;
} cases[] = {
	{ "To: a@b\nCc: \nBcc: c@d\nSubject: hi\nAttach: f.pdf\n\nbody\n", 1,
	  "a@b", "hi", "body\n", NULL, 1, 0, 1, 1 },
	{ "to: a@b\nTO: e@f\nsubject:  spaced  \n\n", 1,
	  "a@b", "spaced", "", NULL, 2, 0, 0, 0 },
	{ "# posthorn: an old error\nTo: a@b,\n  c@d\n\n#body\n", 1,
	  "a@b, c@d", NULL, "#body\n", NULL, 1, 0, 0, 0 },
	{ "To: a@b\nSubject: x", 1, "a@b", "x", "", NULL, 1, 0, 0, 0 },
	{ "\nTo: not a field\n", 1, NULL, NULL, "To: not a field\n", NULL,
	  0, 0, 0, 0 },
	{ "To: a@b\nSubject: x\r\nBcc: evil@x\n\n", 0, NULL, NULL, NULL,
	  "line 2 of the draft holds a control character (CR)", 0, 0, 0, 0 },
	{ "To: a@b\nSubject: x\001\n\n", 0, NULL, NULL, NULL,
	  "control character", 0, 0, 0, 0 },
	{ "To: a@b\nX-Mailer: y\n\n", 0, NULL, NULL, NULL,
	  "unknown field 'X-Mailer'", 0, 0, 0, 0 },
	{ "To a@b\n\n", 0, NULL, NULL, NULL, "not 'Name: value'", 0, 0, 0, 0 },
	{ " c@d\n\n", 0, NULL, NULL, NULL, "continues no field", 0, 0, 0, 0 },
	{ "Subject: a\nSubject: b\n\n", 0, NULL, NULL, NULL,
	  "a second Subject", 0, 0, 0, 0 },
};

int
main(void)
{
	struct draft d;
	struct err e;
	size_t i, n;
	int r;

	for (i = 0; i < N(cases); i++) {
		n = strlen(cases[i].text);
		err_clear(&e);
		r = draft_parse(cases[i].text, n, &d, &e);
		if (!cases[i].ok) {
			t_ok(r == -1 && e.kind == ERR_USAGE &&
			    strstr(e.text, cases[i].hint) != NULL,
			    "draft %zu refused: %s", i, e.text);
			draft_release(&d);
			continue;
		}
		t_ok(r == 0, "draft %zu parses (%s)", i, e.text);
		t_ok(d.to.n == cases[i].nto && d.cc.n == cases[i].ncc &&
		    d.bcc.n == cases[i].nbcc && d.attach.n == cases[i].nattach,
		    "draft %zu: field counts", i);
		if (cases[i].to0 != NULL && d.to.n > 0)
			t_streq(d.to.v[0], cases[i].to0, "draft %zu: To", i);
		t_streq(d.subject, cases[i].subject, "draft %zu: Subject", i);
		t_streq(cases[i].text + d.body_off, cases[i].body,
		    "draft %zu: body", i);
		draft_release(&d);
	}
	t_ok(draft_is_empty("# x\n  \n\n", 8), "comments and blanks: empty");
	t_ok(!draft_is_empty("# x\nTo:\n", 9), "a field line: not empty");
	t_ok(draft_is_empty("", 0), "nothing: empty");
	return t_done();
}
