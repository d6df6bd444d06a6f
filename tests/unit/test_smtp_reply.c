/*
 * test_smtp_reply: the reply grammar (valid replies, every way a line can
 * be malformed, the caps), the enhanced status code, the one-line form,
 * and the EHLO capability parser.  Each table row is one check.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "smtp_reply.h"
#include "t.h"

#define MAXLINES	6
#define PE		"-1 EX_PROTOCOL malformed server reply "

/*
 * Pushes lines in order and describes the outcome in one string:
 * "RET CODE <STATUS> TEXT" (text lines joined by '|') on success, or
 * "-1 KIND TEXT" on error, or "BAD" when a line before the last did not
 * return 0.
 */
static void
run_lines(const char *const *lines, char *out, size_t outsz)
{
	struct smtp_reply r;
	struct err e;
	size_t i, n;
	int ret = 0;
	char *p;

	for (n = 0; n < MAXLINES && lines[n] != NULL; n++)
		;
	smtp_reply_init(&r);
	err_clear(&e);
	for (i = 0; i < n; i++) {
		ret = smtp_reply_push(&r, lines[i], strlen(lines[i]), &e);
		if (ret != 0)
			break;
	}
	if (ret == -1)
		snprintf(out, outsz, "-1 %s %s",
		    err_exitname(err_exitcode(&e)), e.text);
	else if (i + (ret == 1) != n)
		snprintf(out, outsz, "BAD stopped at line %zu", i);
	else {
		snprintf(out, outsz, "%d %d <%s> %s", ret, r.code, r.status,
		    r.text.data != NULL ? r.text.data : "");
		for (p = out; *p != '\0'; p++)
			if (*p == '\n')
				*p = '|';
	}
	smtp_reply_release(&r);
}

static const struct {
	const char	*name;
	const char	*lines[MAXLINES];
	const char	*want;
} push_cases[] = {
	/* Valid replies. */
	{ "one line", { "250 Ok" }, "1 250 <> Ok" },
	{ "bare code is a last line", { "250" }, "1 250 <> " },
	{ "code and space", { "250 " }, "1 250 <> " },
	{ "greeting", { "220 mail.example.org ESMTP Postfix" },
	    "1 220 <> mail.example.org ESMTP Postfix" },
	{ "multi-line", { "250-mail.example.org", "250-PIPELINING",
	    "250 SIZE 10240000" },
	    "1 250 <> mail.example.org|PIPELINING|SIZE 10240000" },
	{ "enhanced status", { "250 2.1.0 Ok" }, "1 250 <2.1.0> Ok" },
	{ "rejected recipient",
	    { "550 5.1.1 <bob@x>: Recipient address rejected: User unknown" },
	    "1 550 <5.1.1> <bob@x>: Recipient address rejected: User unknown" },
	{ "status stripped from each line", { "550-5.7.1 Policy",
	    "550-5.7.1 more", "550 5.7.1 end" },
	    "1 550 <5.7.1> Policy|more|end" },
	{ "status on the first line only", { "550-5.7.1 first",
	    "550 second" }, "1 550 <5.7.1> first|second" },
	{ "other status on a later line kept", { "550-5.1.1 a",
	    "550 5.2.2 b" }, "1 550 <5.1.1> a|5.2.2 b" },
	{ "status class must match reply class", { "550 4.1.1 x" },
	    "1 550 <> 4.1.1 x" },
	{ "no status for 3xx", { "354 3.0.0 go ahead" },
	    "1 354 <> 3.0.0 go ahead" },
	{ "three-digit subject and detail", { "452 4.123.456 busy" },
	    "1 452 <4.123.456> busy" },
	{ "four-digit subject is no status", { "550 5.1234.1 x" },
	    "1 550 <> 5.1234.1 x" },
	{ "four-digit detail is no status", { "550 5.1.1234 x" },
	    "1 550 <> 5.1.1234 x" },
	{ "status glued to text is no status", { "250 2.0.0x Ok" },
	    "1 250 <> 2.0.0x Ok" },
	{ "status at the end of the line", { "250 2.0.0" },
	    "1 250 <2.0.0> " },
	{ "empty subject is no status", { "250 2..0 x" },
	    "1 250 <> 2..0 x" },
	{ "missing detail is no status", { "250 2.0 x" },
	    "1 250 <> 2.0 x" },
	{ "tab in text", { "250 a\tb" }, "1 250 <> a\tb" },
	{ "UTF-8 text", { "250 Gr\xc3\xbc\xc3\x9f" "e" },
	    "1 250 <> Gr\xc3\xbc\xc3\x9f" "e" },
	{ "empty continuation line", { "250-", "250 end" },
	    "1 250 <> |end" },
	{ "bare code ends a multi-line reply", { "250-a", "250" },
	    "1 250 <> a|" },
	{ "lowest code", { "200 x" }, "1 200 <> x" },
	{ "highest code", { "599 x" }, "1 599 <> x" },
	{ "AUTH challenge", { "334 VXNlcm5hbWU6" },
	    "1 334 <> VXNlcm5hbWU6" },
	{ "continuation pending", { "250-first" }, "0 250 <> first" },

	/* Malformed lines: "-1 EX_PROTOCOL malformed server reply ..." */
	{ "empty line", { "" }, PE "'': no three-digit code" },
	{ "two digits", { "25" }, PE "'25': no three-digit code" },
	{ "letter in code", { "2x0 hi" },
	    PE "'2x0 hi': no three-digit code" },
	{ "text only", { "hello" }, PE "'hello': no three-digit code" },
	{ "1xx", { "150 x" }, PE "'150 x': code out of range" },
	{ "6xx", { "650 x" }, PE "'650 x': code out of range" },
	{ "0xx", { "099 x" }, PE "'099 x': code out of range" },
	{ "four digits", { "2500 x" },
	    PE "'2500 x': no space or '-' after the code" },
	{ "letter after code", { "250x" },
	    PE "'250x': no space or '-' after the code" },
	{ "underscore after code", { "250_Ok" },
	    PE "'250_Ok': no space or '-' after the code" },
	{ "tab after code", { "250\tOk" },
	    PE "'250?Ok': no space or '-' after the code" },
	{ "code changes", { "250-a", "251 b" },
	    PE "'251 b': code differs from the reply's first line" },
	{ "class changes", { "250-a", "550 b" },
	    PE "'550 b': code differs from the reply's first line" },
	{ "bare CR", { "250 a\rb" },
	    PE "'250 a?b': control character in text" },
	{ "trailing CR", { "250 a\r" },
	    PE "'250 a?': control character in text" },
	{ "bare LF", { "250 a\nb" },
	    PE "'250 a?b': control character in text" },
	{ "DEL", { "250 a\x7f" }, PE "'250 a?': control character in text" },
	{ "escape sequence", { "250 \x1b[31mred" },
	    PE "'250 ?[31mred': control character in text" },
	{ "control in a later line", { "250-ok", "250 b\x01" },
	    PE "'250 b?': control character in text" },
	{ "long line quoted in part",
	    { "250 0123456789012345678901234567890123456789\x01" },
	    PE "'250 012345678901234567890123456789012345...': "
	    "control character in text" },
	{ "high bytes quoted as ?", { "\xc3\xa9" "50 x" },
	    PE "'??50 x': no three-digit code" },
};

static const struct {
	const char	*name;
	const char	*lines[MAXLINES];
	size_t		 outsz;
	const char	*want;
} oneline_cases[] = {
	{ "recipient rejected",
	    { "550 5.1.1 <bob@x>: Recipient address rejected: User unknown" },
	    256,
	    "550 5.1.1 <bob@x>: Recipient address rejected: User unknown" },
	{ "lines joined by a space", { "451-4.3.0 Temporary",
	    "451-4.3.0 failure,", "451 4.3.0 try later" }, 256,
	    "451 4.3.0 Temporary failure, try later" },
	{ "bare code", { "250" }, 256, "250" },
	{ "status only", { "250 2.0.0" }, 256, "250 2.0.0" },
	{ "no status", { "221 Bye" }, 256, "221 Bye" },
	{ "tabs and runs of spaces collapse", { "250 a  \t b" }, 256,
	    "250 a b" },
	{ "empty text lines", { "250-", "250 " }, 256, "250" },
	{ "cut in the text, marked", { "550 5.1.1 <bob@x>: rejected" }, 16,
	    "550 5.1.1 <b..." },
	{ "exactly fits", { "550 5.1.1 <bob@x>" }, 18, "550 5.1.1 <bob@x>" },
	{ "one byte over is marked", { "550 5.1.1 <bob@x>" }, 17,
	    "550 5.1.1 <bo..." },
	{ "no space before the mark", { "550 5.1.1 <bob@x>" }, 14,
	    "550 5.1.1..." },
	{ "not in a UTF-8 character", { "550 ab\xc3\xbc\xc3\x9f" }, 10,
	    "550 ab..." },
	{ "cut in the code", { "550 5.1.1 <bob@x>" }, 3, "55" },
	{ "UTF-8 kept", { "250 Gr\xc3\xbc\xc3\x9f" "e" }, 256,
	    "250 Gr\xc3\xbc\xc3\x9f" "e" },
};

/* Capability flags by name, for readable expectations. */
static const struct {
	unsigned	 flag;
	const char	*name;
} cap_names[] = {
	{ CAP_PIPELINING, "PIPELINING" },
	{ CAP_SIZE, "SIZE" },
	{ CAP_8BITMIME, "8BITMIME" },
	{ CAP_SMTPUTF8, "SMTPUTF8" },
	{ CAP_DSN, "DSN" },
	{ CAP_CHUNKING, "CHUNKING" },
	{ CAP_BINARYMIME, "BINARYMIME" },
	{ CAP_STARTTLS, "STARTTLS" },
	{ CAP_AUTH, "AUTH" },
	{ CAP_ENHANCEDSTATUSCODES, "ENHANCEDSTATUSCODES" },
	{ CAP_REQUIRETLS, "REQUIRETLS" },
};

static void
run_caps(const char *const *lines, char *out, size_t outsz)
{
	struct smtp_reply r;
	struct smtp_caps caps;
	struct err e;
	size_t i, o = 0;

	smtp_reply_init(&r);
	for (i = 0; i < MAXLINES && lines[i] != NULL; i++)
		if (smtp_reply_push(&r, lines[i], strlen(lines[i]), &e) == -1) {
			snprintf(out, outsz, "push failed: %s", e.text);
			smtp_reply_release(&r);
			return;
		}
	smtp_caps_parse(&r, &caps);
	out[0] = '\0';
	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (caps.flags & cap_names[i].flag)
			o += (size_t)snprintf(out + o, outsz - o, "%s ",
			    cap_names[i].name);
	snprintf(out + o, outsz - o, "size=%llu auth=[%s]", caps.size_max,
	    caps.auth);
	smtp_reply_release(&r);
}

static const struct {
	const char	*name;
	const char	*lines[MAXLINES];
	const char	*want;
} caps_cases[] = {
	{ "Postfix submission", { "250-mail.example.org",
	    "250-PIPELINING", "250-SIZE 10240000", "250-ETRN",
	    "250-AUTH PLAIN LOGIN", "250 ENHANCEDSTATUSCODES" },
	    "PIPELINING SIZE AUTH ENHANCEDSTATUSCODES size=10240000 "
	    "auth=[PLAIN LOGIN]" },
	{ "greeting only", { "250 mail.example.org" }, "size=0 auth=[]" },
	{ "greeting line is no capability", { "250 STARTTLS" },
	    "size=0 auth=[]" },
	{ "lower-case keywords", { "250-x", "250-pipelining",
	    "250-StartTLS", "250 8bitmime" },
	    "PIPELINING 8BITMIME STARTTLS size=0 auth=[]" },
	{ "parameters are no keywords", { "250-x",
	    "250-PIPELINING 8BITMIME SMTPUTF8",
	    "250-DSN", "250-CHUNKING", "250-BINARYMIME",
	    "250 STARTTLS" },
	    "PIPELINING DSN CHUNKING BINARYMIME STARTTLS size=0 auth=[]" },
	{ "the rest", { "250-x", "250-8BITMIME", "250-SMTPUTF8",
	    "250-ENHANCEDSTATUSCODES", "250 REQUIRETLS" },
	    "8BITMIME SMTPUTF8 ENHANCEDSTATUSCODES REQUIRETLS size=0 "
	    "auth=[]" },
	{ "SIZE without argument", { "250-x", "250 SIZE" },
	    "SIZE size=0 auth=[]" },
	{ "SIZE 0 is no limit", { "250-x", "250 SIZE 0" },
	    "SIZE size=0 auth=[]" },
	{ "SIZE not a number", { "250-x", "250 SIZE 10M" },
	    "SIZE size=0 auth=[]" },
	{ "SIZE largest value", { "250-x",
	    "250 SIZE 18446744073709551615" },
	    "SIZE size=18446744073709551615 auth=[]" },
	{ "SIZE overflow", { "250-x", "250 SIZE 18446744073709551616" },
	    "SIZE size=0 auth=[]" },
	{ "AUTH and old AUTH= merged", { "250-x", "250-AUTH PLAIN LOGIN",
	    "250 AUTH=LOGIN CRAM-MD5" },
	    "AUTH size=0 auth=[PLAIN LOGIN CRAM-MD5]" },
	{ "old AUTH= alone", { "250-x", "250 AUTH=plain login" },
	    "AUTH size=0 auth=[PLAIN LOGIN]" },
	{ "mechanisms upper-cased and de-duplicated", { "250-x",
	    "250 auth plain PLAIN Plain xoauth2" },
	    "AUTH size=0 auth=[PLAIN XOAUTH2]" },
	{ "bad mechanism names dropped", { "250-x",
	    "250 AUTH PL@IN SCRAM-SHA-256 ABCDEFGHIJKLMNOPQRSTU" },
	    "AUTH size=0 auth=[SCRAM-SHA-256]" },
	{ "unknown keywords ignored", { "250-x", "250-X-EXPS GSSAPI",
	    "250-VRFY", "250 XCLIENT NAME ADDR" }, "size=0 auth=[]" },
	{ "keyword prefixes do not match", { "250-x", "250-PIPELININGX",
	    "250-SIZED 100", "250 AUTHX PLAIN" }, "size=0 auth=[]" },
	{ "keyword with leading space", { "250-x", "250  DSN" },
	    "DSN size=0 auth=[]" },
	{ "not finished reply is parsed too", { "250-x", "250-DSN" },
	    "DSN size=0 auth=[]" },
};

static const struct {
	const char	*list;
	const char	*mech;
	int		 want;
} has_auth_cases[] = {
	{ "PLAIN LOGIN", "PLAIN", 1 },
	{ "PLAIN LOGIN", "login", 1 },
	{ "PLAIN LOGIN", "LOG", 0 },
	{ "PLAIN LOGIN", "LOGINX", 0 },
	{ "", "PLAIN", 0 },
	{ "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", 0 },
	{ "SCRAM-SHA-256 SCRAM-SHA-256-PLUS", "scram-sha-256-plus", 1 },
};

/* A reply longer than one cap or another, built in memory. */
static void
test_caps_limits(void)
{
	struct smtp_reply r;
	struct smtp_caps caps;
	struct err e;
	char *line;
	size_t i;
	int ret = 0;

	line = malloc(SMTP_REPLY_LINE_MAX + 2);
	smtp_reply_init(&r);

	/* Exactly the longest line. */
	memset(line, 'a', SMTP_REPLY_LINE_MAX);
	memcpy(line, "250 ", 4);
	ret = smtp_reply_push(&r, line, SMTP_REPLY_LINE_MAX, &e);
	t_ok(ret == 1 && r.text.len == SMTP_REPLY_LINE_MAX - 4,
	    "a line of SMTP_REPLY_LINE_MAX bytes is accepted");

	/* One byte more. */
	smtp_reply_reset(&r);
	memset(line, 'a', SMTP_REPLY_LINE_MAX + 1);
	memcpy(line, "250 ", 4);
	ret = smtp_reply_push(&r, line, SMTP_REPLY_LINE_MAX + 1, &e);
	t_ok(ret == -1 && e.kind == ERR_PROTOCOL &&
	    strstr(e.text, ": line too long") != NULL,
	    "a longer line is ERR_PROTOCOL (%s)", e.text);

	/* NUL inside a line (lengths, not C strings). */
	smtp_reply_reset(&r);
	ret = smtp_reply_push(&r, "250 a\0b", 7, &e);
	t_ok(ret == -1 && e.kind == ERR_PROTOCOL &&
	    strcmp(e.text, "malformed server reply '250 a?b': control "
	    "character in text") == 0, "NUL in text is refused (%s)",
	    e.text);

	/* The line count cap. */
	smtp_reply_reset(&r);
	for (i = 0; i < SMTP_REPLY_LINES_MAX; i++)
		if ((ret = smtp_reply_push(&r, "250-x", 5, &e)) != 0)
			break;
	t_ok(ret == 0 && r.nlines == SMTP_REPLY_LINES_MAX,
	    "%d lines are accepted", SMTP_REPLY_LINES_MAX);
	ret = smtp_reply_push(&r, "250 x", 5, &e);
	t_ok(ret == -1 && e.kind == ERR_PROTOCOL &&
	    strstr(e.text, ": too many lines") != NULL,
	    "one line more is ERR_PROTOCOL (%s)", e.text);

	/* The total text cap: 9 lines of 4000 bytes are over 32768. */
	smtp_reply_reset(&r);
	memset(line, 'b', 4004);
	memcpy(line, "250-", 4);
	for (i = 0; i < 9; i++)
		if ((ret = smtp_reply_push(&r, line, 4004, &e)) != 0)
			break;
	t_ok(ret == -1 && i == 8 && e.kind == ERR_PROTOCOL &&
	    strstr(e.text, ": reply text too long") != NULL &&
	    r.text.len <= SMTP_REPLY_TEXT_MAX,
	    "text over SMTP_REPLY_TEXT_MAX is ERR_PROTOCOL (%s)", e.text);

	/* Pushing after the end. */
	smtp_reply_reset(&r);
	smtp_reply_push(&r, "250 ok", 6, &e);
	ret = smtp_reply_push(&r, "250 more", 8, &e);
	t_ok(ret == -1 && e.kind == ERR_SOFTWARE,
	    "a push after completion is refused (%s)", e.text);

	/* Reset makes the reply reusable. */
	smtp_reply_reset(&r);
	ret = smtp_reply_push(&r, "221 2.0.0 Bye", 13, &e);
	t_ok(ret == 1 && r.code == 221 && strcmp(r.status, "2.0.0") == 0 &&
	    r.nlines == 1 && strcmp(r.text.data, "Bye") == 0,
	    "after a reset the next reply parses afresh");
	t_inteq(SMTP_REPLY_CLASS(&r), 2, "SMTP_REPLY_CLASS");

	/* A reply never pushed has an empty one-line form. */
	smtp_reply_reset(&r);
	line[0] = 'x';
	line[1] = '\0';
	smtp_reply_oneline(&r, line, 16);
	t_streq(line, "", "oneline of an empty reply");

	/* The AUTH list is capped and stays terminated. */
	smtp_reply_reset(&r);
	smtp_reply_push(&r, "250-x", 5, &e);
	memcpy(line, "250 AUTH", 8);
	for (i = 0; i < 60; i++)
		snprintf(line + 8 + i * 11, 12, " MECHNAME%02zu", i);
	smtp_reply_push(&r, line, strlen(line), &e);
	smtp_caps_parse(&r, &caps);
	t_ok(strlen(caps.auth) < sizeof(caps.auth) &&
	    smtp_caps_has_auth(&caps, "MECHNAME00") &&
	    !smtp_caps_has_auth(&caps, "MECHNAME59"),
	    "the AUTH list keeps what fits (%zu bytes)", strlen(caps.auth));
	t_ok(caps.auth_overflow, "and says that it is incomplete");

	/* One name exactly filling the list, then one byte more. */
	{
		size_t k, len;

		smtp_reply_reset(&r);
		smtp_reply_push(&r, "250-x", 5, &e);
		memcpy(line, "250 AUTH", 8);
		len = 8;
		/* 26 names of 18 bytes and 25 spaces: 493 bytes. */
		for (k = 0; k < 26; k++) {
			snprintf(line + len, 20, " MECHANISM-NAME-%03zu", k);
			len += 19;
		}
		/* 511 - 493 - 1 = 17 bytes left for the last name. */
		memcpy(line + len, " LASTNAME-17-CHARS", 19);
		len += 18;
		smtp_reply_push(&r, line, len, &e);
		smtp_caps_parse(&r, &caps);
		t_inteq(strlen(caps.auth), sizeof(caps.auth) - 1,
		    "an AUTH list of exactly %zu bytes fits", sizeof(caps.auth)
		    - 1);
		t_ok(!caps.auth_overflow && smtp_caps_has_auth(&caps,
		    "LASTNAME-17-CHARS"), "whole, with no overflow");
		smtp_reply_reset(&r);
		smtp_reply_push(&r, "250-x", 5, &e);
		memcpy(line + len, "X", 2);
		smtp_reply_push(&r, line, len + 1, &e);
		smtp_caps_parse(&r, &caps);
		t_ok(caps.auth_overflow && !smtp_caps_has_auth(&caps,
		    "LASTNAME-17-CHARSX") && !smtp_caps_has_auth(&caps,
		    "LASTNAME-17-CHARS"), "one byte more is an overflow, not "
		    "a shorter name");
	}

	smtp_reply_release(&r);
	free(line);
}

int
main(void)
{
	char got[2048];
	struct smtp_reply r;
	struct smtp_caps caps;
	struct err e;
	size_t i, j;

	for (i = 0; i < sizeof(push_cases) / sizeof(push_cases[0]); i++) {
		run_lines(push_cases[i].lines, got, sizeof(got));
		t_streq(got, push_cases[i].want, "push: %s",
		    push_cases[i].name);
	}

	for (i = 0; i < sizeof(oneline_cases) / sizeof(oneline_cases[0]);
	    i++) {
		smtp_reply_init(&r);
		for (j = 0; j < MAXLINES && oneline_cases[i].lines[j]; j++)
			smtp_reply_push(&r, oneline_cases[i].lines[j],
			    strlen(oneline_cases[i].lines[j]), &e);
		memset(got, 'x', sizeof(got));
		smtp_reply_oneline(&r, got, oneline_cases[i].outsz);
		t_streq(got, oneline_cases[i].want, "oneline: %s",
		    oneline_cases[i].name);
		smtp_reply_release(&r);
	}

	for (i = 0; i < sizeof(caps_cases) / sizeof(caps_cases[0]); i++) {
		run_caps(caps_cases[i].lines, got, sizeof(got));
		t_streq(got, caps_cases[i].want, "caps: %s",
		    caps_cases[i].name);
	}

	for (i = 0; i < sizeof(has_auth_cases) / sizeof(has_auth_cases[0]);
	    i++) {
		memset(&caps, 0, sizeof(caps));
		snprintf(caps.auth, sizeof(caps.auth), "%s",
		    has_auth_cases[i].list);
		t_inteq(smtp_caps_has_auth(&caps, has_auth_cases[i].mech),
		    has_auth_cases[i].want, "has_auth '%s' in '%s'",
		    has_auth_cases[i].mech, has_auth_cases[i].list);
	}

	test_caps_limits();
	return t_done();
}
