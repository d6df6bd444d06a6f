/*
 * test_cli: command lines in, struct cli or a usage error out.  Each row
 * is an argv (space separated; "_" stands for an empty word) with what
 * must come of it.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "util/alloc.h"
#include "t.h"

#define N(a)	(sizeof(a) / sizeof((a)[0]))

/* Splits s at spaces into argv (owned by the caller). */
static int
split(const char *s, char **argv, int max)
{
	char *copy = xstrdup(s), *tok, *save = NULL;
	int n = 0;

	for (tok = strtok_r(copy, " ", &save); tok && n < max - 1;
	    tok = strtok_r(NULL, " ", &save))
		argv[n++] = xstrdup(strcmp(tok, "_") == 0 ? "" : tok);
	argv[n] = NULL;
	free(copy);
	return n;
}

static void
free_argv(char **argv)
{
	for (int i = 0; argv[i] != NULL; i++)
		free(argv[i]);
}

/* Lines that must be refused with exit 64; the message must mention
   `hint`. */
static const struct {
	const char *argv, *hint;
} bad[] = {
	{ "sendmail -X /tmp/log bob@x", "'-X'" },
	{ "sendmail bob@x -oi", "after the first recipient" },
	{ "sendmail bob@x -X /tmp/log", "after the first recipient" },
	{ "posthorn -Z", "unknown option" },
	{ "posthorn --nonsense", "unknown option" },
	{ "posthorn -f", "needs a value" },
	{ "posthorn -N sometimes bob@x", "-N" },
	{ "posthorn -N never,success bob@x", "-N" },
	{ "posthorn -R most bob@x", "-R" },
	{ "posthorn -B 9BIT bob@x", "-B" },
	{ "posthorn -bd", "-bd" },
	{ "posthorn -bv bob@x", "-bv" },
	{ "posthorn --port 0 bob@x", "port" },
	{ "posthorn --port 70000 bob@x", "port" },
	{ "posthorn --port 25x bob@x", "port" },
	{ "posthorn --tls maybe bob@x", "--tls" },
	{ "posthorn --persist -1 bob@x", "--persist" },
	{ "posthorn --persist 86401 bob@x", "--persist" },
	{ "posthorn --persist 10s bob@x", "--persist" },
	{ "posthorn -H NoColonHere -s x bob@x", "header" },
	{ "posthorn -H :empty -s x bob@x", "header" },
	{ "posthorn -q --json", "--json" },
	{ "posthorn --show", "needs a value" },
	{ "posthorn --delete ../x", "queue id" },
	{ "posthorn --show 0123456789012345678901234567890X", "queue id" },
	{ "posthorn --show A B", "one id" },
	{ "posthorn --delete all A", "alone" },
	{ "posthorn --delete A --hold B", "one queue command" },
	{ "posthorn --all bob@x", "--all" },
	{ "posthorn --due bob@x", "--due" },
	{ "posthorn -c cc@x bob@x", "compose" },
	{ "posthorn -s x -t bob@x", "-t" },
	{ "posthorn -qI", "queue id" },
	{ "posthorn -qI ../etc", "queue id" },
	{ "posthorn -f a@b<c bob@x", "sender" },
	{ "posthorn --read-envelope-from -f a@b bob@x", "give one" },
	{ "posthorn --timeout", "needs a value" },
	{ "posthorn --logfile=/tmp/x bob@x", "unknown option" },
	{ "posthorn --passwordeval=id bob@x", "unknown option" },
	{ "posthorn --queue-dir=/tmp bob@x", "unknown option" },
	{ "posthorn --password=x bob@x", "unknown option" },
	{ "posthorn -s x --read-envelope-from bob@x", "--read-envelope-from" },
	{ "posthorn -a f --read-envelope-from bob@x", "--read-envelope-from" },
	{ "posthorn -b carol@x bob@x", "compose" },
	{ "posthorn -bx bob@x", "-bx" },
	{ "posthorn --allow-empty bob@x", "--allow-empty" },
	{ "posthorn -E -bp", "-E" },
};

static void
test_bad(void)
{
	char *argv[32];
	struct cli c;
	struct err e;
	size_t i;
	int argc;

	for (i = 0; i < N(bad); i++) {
		argc = split(bad[i].argv, argv, 32);
		err_clear(&e);
		int r = cli_parse(&c, argc, argv, &e);

		t_ok(r == -1 && err_exitcode(&e) == 64 &&
		    strstr(e.text, bad[i].hint) != NULL,
		    "refused with 64: %s", bad[i].argv);
		if (r != -1 || strstr(e.text, bad[i].hint) == NULL)
			t_diag("message: %s", e.text);
		cli_release(&c);
		free_argv(argv);
	}
}

/* CR or LF in any value that reaches a header or a command: 64. */
static void
test_injection(void)
{
	static const char *const opts[] = {
		"-s", "-F", "-f", "-c", "--bcc", "--reply-to", "-H", "-A",
		"--host", "--user", "-a",
	};
	char *argv[8];
	struct cli c;
	struct err e;
	size_t i;

	for (i = 0; i < N(opts); i++) {
		argv[0] = "posthorn";
		argv[1] = "-s";
		argv[2] = "subject";
		argv[3] = (char *)opts[i];
		argv[4] = strcmp(opts[i], "-H") == 0 ?
		    "X-A: one\r\nBcc: evil@x" : "value\r\nRCPT TO:<evil@x>";
		argv[5] = "bob@x";
		argv[6] = NULL;
		err_clear(&e);
		t_ok(cli_parse(&c, 6, argv, &e) == -1 &&
		    err_exitcode(&e) == 64, "CR/LF in %s refused", opts[i]);
		cli_release(&c);
	}
	argv[0] = "sendmail";
	argv[1] = "bob@x\r\nRCPT TO:<evil@x>";
	argv[2] = NULL;
	t_ok(cli_parse(&c, 2, argv, &e) == -1 && err_exitcode(&e) == 64,
	    "CR/LF in a recipient refused");
	cli_release(&c);
}

static void
test_good(void)
{
	char *argv[32];
	struct cli c;
	struct err e;
	int argc;

#define PARSE(s) do {							\
		argc = split((s), argv, 32);				\
		err_clear(&e);						\
		if (cli_parse(&c, argc, argv, &e) == -1)		\
			t_diag("unexpected error for '%s': %s", (s), e.text); \
	} while (0)
#define DONE() do { cli_release(&c); free_argv(argv); } while (0)

	PARSE("sendmail -t -i -oi -oem -odi -FCronDaemon -f root");
	t_ok(c.mode == CLI_SEND && c.read_recipients && c.rcpts.n == 0,
	    "cronie's flags: send, -t");
	t_streq(c.sender, "root", "cronie's -f root");
	t_streq(c.full_name, "CronDaemon", "-F value");
	DONE();

	PARSE("sendmail -oi -oem -t --read-envelope-from");
	t_ok(c.read_envelope_from && c.read_recipients && c.sender == NULL,
	    "--read-envelope-from with mutt's flags");
	DONE();

	PARSE("sendmail -t");
	t_ok(!c.read_envelope_from, "no --read-envelope-from: flag clear");
	DONE();

	PARSE("sendmail -Am -t -i");
	t_ok(c.account == NULL && c.read_recipients, "-Am ignored");
	DONE();
	PARSE("sendmail -Ac bob@x");
	t_ok(c.account == NULL && c.rcpts.n == 1, "-Ac ignored");
	DONE();
	PARSE("sendmail -A m bob@x");
	t_streq(c.account, "m", "-A m (two words) is the account m");
	DONE();
	PARSE("sendmail -Amail bob@x");
	t_streq(c.account, "mail", "-Amail is the account mail");
	DONE();

	PARSE("posthorn --tls-trust-file=/ca.pem --timeout 5 --syslog "
	    "--queue=off --set-to-header=undisclosed_recipients --domain= "
	    "bob@x");
	t_ok(c.keyopts.n == 12, "key options: six pairs (%zu)", c.keyopts.n);
	if (c.keyopts.n == 12) {
		t_streq(c.keyopts.v[0], "tls_trust_file", "key 1 name");
		t_streq(c.keyopts.v[1], "/ca.pem", "key 1 value after =");
		t_streq(c.keyopts.v[2], "timeout", "key 2 name");
		t_streq(c.keyopts.v[3], "5", "key 2 value as the next word");
		t_streq(c.keyopts.v[4], "syslog", "key 3: on/off key");
		t_streq(c.keyopts.v[5], "", "key 3: no value is on");
		t_streq(c.keyopts.v[7], "off", "key 4 value");
		t_streq(c.keyopts.v[9], "undisclosed_recipients", "key 5");
		t_streq(c.keyopts.v[11], "", "key 6: empty value");
	}
	t_ok(c.rcpts.n == 1, "key options: the recipient stays");
	DONE();

	PARSE("sendmail -f <> bob@x");
	t_streq(c.sender, "", "-f <> is the null sender");
	DONE();

	PARSE("sendmail -r <alice@example.org> bob@x");
	t_streq(c.sender, "alice@example.org", "-r strips angle brackets");
	DONE();

	PARSE("posthorn -s x -b carol@x -E --allow-empty --body - bob@x");
	t_ok(c.mode == CLI_SEND && c.compose && c.bcc.n == 1 &&
	    strcmp(c.bcc.v[0], "carol@x") == 0,
	    "mailx -b ADDR is a Bcc recipient");
	t_ok(c.skip_empty && c.allow_empty && c.body_file == NULL,
	    "-E, --allow-empty, --body - (standard input)");
	DONE();

	PARSE("sendmail -bm -bp");
	t_ok(c.mode == CLI_LIST && c.bcc.n == 0,
	    "one letter after -b is sendmail's mode");
	DONE();

	PARSE("posthorn -r Rob<rob@x> -s _ bob@x");
	t_streq(c.sender, "rob@x", "-r 'Name <addr>': the address");
	t_streq(c.sender_name, "Rob", "-r 'Name <addr>': the name kept");
	t_streq(c.subject, "", "-s '' is an empty subject");
	DONE();

	PARSE("sendmail -G -h 30 -L tag -U -m -n -O x=y -oQ -i bob@x");
	t_ok(c.mode == CLI_SEND && c.rcpts.n == 1,
	    "ignored options accepted, recipient kept");
	DONE();

	PARSE("sendmail -N success,delay -R hdrs -V env1 -B 8bitmime bob@x");
	t_streq(c.dsn_notify, "SUCCESS,DELAY", "-N normalised");
	t_streq(c.dsn_ret, "HDRS", "-R hdrs");
	t_streq(c.dsn_envid, "env1", "-V");
	t_ok(c.body == CLI_BODY_8BITMIME, "-B 8BITMIME any case");
	DONE();

	PARSE("sendmail -N never bob@x");
	t_streq(c.dsn_notify, "NEVER", "-N never");
	DONE();

	PARSE("sendmail -bp");
	t_ok(c.mode == CLI_LIST, "-bp lists");
	DONE();

	PARSE("mailq");
	t_ok(c.mode == CLI_LIST, "argv[0] mailq lists");
	DONE();

	PARSE("/usr/bin/newaliases");
	t_ok(c.mode == CLI_NOOP, "argv[0] newaliases does nothing");
	DONE();

	PARSE("sendmail -bi");
	t_ok(c.mode == CLI_NOOP, "-bi does nothing");
	DONE();

	PARSE("sendmail -I");
	t_ok(c.mode == CLI_NOOP, "-I does nothing");
	DONE();

	PARSE("sendmail -bs");
	t_ok(c.mode == CLI_SMTP, "-bs");
	DONE();

	PARSE("sendmail -q");
	t_ok(c.mode == CLI_FLUSH && !c.due_only, "-q delivers everything now");
	DONE();

	PARSE("sendmail -q -q");
	t_ok(c.mode == CLI_FLUSH && !c.due_only, "-q -q is -q");
	DONE();

	PARSE("sendmail -qq");
	t_ok(c.mode == CLI_FLUSH && !c.due_only, "-qq is -q");
	DONE();

	PARSE("posthorn -q --due");
	t_ok(c.mode == CLI_FLUSH && c.due_only, "-q --due respects backoff");
	DONE();

	PARSE("sendmail -q15m");
	t_ok(c.mode == CLI_NOOP, "-q15m does nothing");
	DONE();

	PARSE("sendmail -qI 6B0447BAC05FFNQNk");
	t_ok(c.mode == CLI_FLUSH && c.queue_id != NULL &&
	    strcmp(c.queue_id, "6B0447BAC05FFNQNk") == 0, "-qI ID");
	DONE();

	PARSE("sendmail -qIABC");
	t_ok(c.mode == CLI_FLUSH && c.queue_id != NULL &&
	    strcmp(c.queue_id, "ABC") == 0, "-qIID in one word");
	DONE();

	PARSE("posthorn -bp --json");
	t_ok(c.mode == CLI_LIST && c.json, "-bp --json");
	DONE();

	PARSE("mailq --all");
	t_ok(c.mode == CLI_LIST && c.all_users, "mailq --all");
	DONE();

	PARSE("posthorn --json bob@x");
	t_ok(c.mode == CLI_SEND && c.json, "--json on a send");
	DONE();

	PARSE("posthorn --show 6B0447BAC05FFNQNk --json");
	t_ok(c.mode == CLI_SHOW && c.json && c.queue_ids.n == 1,
	    "--show ID --json");
	DONE();

	PARSE("posthorn --delete A B C");
	t_ok(c.mode == CLI_QUEUE_CMD && c.qcmd == CLI_Q_DELETE &&
	    c.queue_ids.n == 3 && strcmp(c.queue_ids.v[2], "C") == 0,
	    "--delete takes several ids");
	DONE();

	PARSE("posthorn --show 0123456789012345678901234567890");
	t_ok(c.mode == CLI_SHOW, "--show: an id of 31 characters (the cap; "
	    "one more is refused above)");
	DONE();

	PARSE("posthorn --requeue all");
	t_ok(c.mode == CLI_QUEUE_CMD && c.qcmd == CLI_Q_REQUEUE &&
	    c.queue_ids.n == 1, "--requeue all");
	DONE();

	PARSE("posthorn --hold X");
	t_ok(c.qcmd == CLI_Q_HOLD, "--hold");
	DONE();

	PARSE("posthorn --release X");
	t_ok(c.qcmd == CLI_Q_RELEASE, "--release");
	DONE();

	PARSE("posthorn -- -dash@x bob@x");
	t_ok(c.rcpts.n == 2 && strcmp(c.rcpts.v[0], "-dash@x") == 0,
	    "after --, a recipient may start with '-'");
	DONE();

	PARSE("sendmail a@x,b@y c@z");
	t_ok(c.rcpts.n == 2 && strcmp(c.rcpts.v[0], "a@x,b@y") == 0,
	    "comma lists stay one word here (msg splits them)");
	DONE();

	PARSE("posthorn -s Report -a r.pdf -a c.png:image/png -c boss@x "
	    "--bcc audit@x --reply-to me@x -H X-Tag:_1 team@x");
	t_ok(c.compose && c.attach.n == 2 && c.cc.n == 1 && c.bcc.n == 1 &&
	    c.reply_to.n == 1 && c.headers.n == 1 && c.rcpts.n == 1,
	    "compose line");
	t_streq(c.subject, "Report", "-s");
	DONE();

	PARSE("posthorn --body b.txt --html b.html --inline logo.png bob@x");
	t_ok(c.compose && c.html_file && c.inline_files.n == 1,
	    "--body/--html/--inline compose");
	DONE();

	PARSE("posthorn -a file.txt bob@x");
	t_ok(!c.compose && c.attach.n == 1,
	    "-a alone attaches to the message on stdin");
	DONE();

	PARSE("posthorn -A work --host h --port 2525 --tls starttls --user u "
	    "--auth scram-sha-256 -C cfg -v -v bob@x");
	t_ok(c.account && c.host && c.port == 2525 && c.tls && c.user &&
	    c.auth && c.config && c.verbose == 2, "account overrides");
	DONE();

	PARSE("posthorn --serverinfo");
	t_ok(c.mode == CLI_SERVERINFO, "--serverinfo");
	DONE();

	PARSE("posthorn --persist 30 bob@x");
	t_ok(c.persist == 31 && c.rcpts.n == 1, "--persist 30 (stored + 1)");
	DONE();

	PARSE("posthorn --persist 0 bob@x");
	t_ok(c.persist == 1, "--persist 0 turns it off (set, not unset)");
	DONE();

	PARSE("posthorn --persist-status");
	t_ok(c.mode == CLI_PERSIST_STATUS, "--persist-status");
	DONE();

	PARSE("posthorn --persist-stop -A work");
	t_ok(c.mode == CLI_PERSIST_STOP && c.account != NULL,
	    "--persist-stop -A");
	DONE();

	PARSE("posthorn --help");
	t_ok(c.mode == CLI_HELP, "--help");
	DONE();

	PARSE("posthorn --version");
	t_ok(c.mode == CLI_VERSION, "--version");
	DONE();
#undef PARSE
#undef DONE
}

int
main(void)
{
	test_bad();
	test_injection();
	test_good();
	return t_done();
}
