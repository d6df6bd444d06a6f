/*
 * fuzz_msg: message intake.  The input is a message read with -t by an
 * account with aliases; when msg accepts it, the stored form must be
 * canonical: every line ended by CRLF, no bare CR or LF, no NUL, header
 * lines of at most 998 octets, a size that matches the file, and at least
 * one recipient that is a valid envelope address.  msg_sender_of
 * (--read-envelope-from) reads the same input: an address it finds is
 * non-empty, one line, and not longer than the input (and its quotes).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "addr.h"
#include "alias.h"
#include "conf.h"
#include "envelope.h"
#include "err.h"
#include "msg.h"
#include "util/alloc.h"
#include "util/strv.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct src {
	const uint8_t	*p;
	size_t		 n;
	size_t		 step;	/* vary the block size the reader sees */
};

static long
src_read(void *arg, char *buf, size_t n, struct err *e)
{
	struct src *s = arg;
	size_t k = n < s->n ? n : s->n;

	(void)e;
	if (k > s->step)
		k = s->step;
	memcpy(buf, s->p, k);
	s->p += k;
	s->n -= k;
	return (long)k;
}

static void
check(const char *m, size_t n, const struct envelope *env)
{
	size_t i, line = 0;
	int in_headers = 1;

	if ((off_t)n != env->size || env->nrcpt == 0)
		abort();
	for (i = 0; i < env->nrcpt; i++)
		if (!addr_valid_spec(env->rcpt[i].addr, 0))
			abort();
	for (i = 0; i < n; i++) {
		if (m[i] == '\0')
			abort();
		if (m[i] == '\r' && (i + 1 == n || m[i + 1] != '\n'))
			abort();
		if (m[i] == '\n') {
			if (i == 0 || m[i - 1] != '\r')
				abort();
			if (in_headers && line == 1)
				in_headers = 0;	/* the blank line */
			line = 0;
			continue;
		}
		line++;
		if (in_headers && line > 998 + 1)
			abort();
	}
	if (n > 0 && m[n - 1] != '\n')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char aliases[] = "root: admin@example.org\n"
	    "team: a@x.org, b@y.org\nloop: loop\n";
	static struct alias_map am;
	static struct strv local;
	static int loaded;
	struct account *a;
	struct msg_params p;
	struct envelope env;
	struct src s = { data, size, size % 7 == 0 ? 1 : 65536 };
	struct msg_source src = { src_read, &s };
	struct err e;
	char *m;
	off_t n;
	int fd;

	if (!loaded) {
		alias_parse(&am, aliases, sizeof(aliases) - 1, "aliases", &e);
		strv_add(&local, "localhost");
		strv_add(&local, "box.example.test");
		loaded = 1;
	}
	if (msg_sender_of((const char *)data, size, &m) == 0) {
		if (m == NULL || *m == '\0' || strpbrk(m, "\r\n") != NULL ||
		    strlen(m) > size + 2)
			abort();
		free(m);
	} else if (m != NULL)
		abort();
	if ((fd = memfd_create("fuzz_msg", 0)) == -1)
		return 0;
	a = conf_account_new("fuzz");
	a->from = xstrdup("alice@example.org");
	memset(&p, 0, sizeof(p));
	p.acct = a;
	p.aliases = &am;
	p.read_recipients = 1;
	p.user = "fuzz";
	p.domain = "example.net";
	/* Every other input: local names at local domains, and an admin. */
	if (size % 2 == 0) {
		p.local_domains = &local;
		p.admin = "ops@example.net";
	}
	p.now = 1795435200;
	envelope_init(&env);
	err_clear(&e);
	if (msg_read_source(&src, &p, fd, &env, &e) == 0) {
		n = lseek(fd, 0, SEEK_END);
		m = xmalloc((size_t)n + 1);
		if (pread(fd, m, (size_t)n, 0) != n)
			abort();
		check(m, (size_t)n, &env);
		free(m);
	}
	envelope_release(&env);
	conf_account_free(a);
	close(fd);
	return 0;
}
