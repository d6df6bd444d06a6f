/*
 * t.h: the unit-test harness.  Each check prints one TAP line; t_done()
 * prints the plan and returns the exit status.  Tables of cases are the
 * normal shape of a unit test here: one row, one check, one line.
 */
#ifndef POSTHORN_T_H
#define POSTHORN_T_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int t_count, t_failed;

static int __attribute__((format(printf, 4, 5)))
t_ok_at(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	t_count++;
	printf("%s %d - ", cond ? "ok" : "not ok", t_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!cond) {
		t_failed++;
		printf(" # at %s:%d", file, line);
	}
	printf("\n");
	fflush(stdout);
	return cond;
}

/* One check: t_ok(cond, "what it checks %s", arg). */
#define t_ok(cond, ...)	t_ok_at(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* String equality with both values shown on failure. */
#define t_streq(got, want, ...) do {					\
	const char *t_g_ = (got), *t_w_ = (want);			\
	int t_c_ = (t_g_ == NULL && t_w_ == NULL) ||			\
	    (t_g_ != NULL && t_w_ != NULL && strcmp(t_g_, t_w_) == 0);	\
	if (!t_ok(t_c_, __VA_ARGS__))					\
		printf("#   got:  '%s'\n#   want: '%s'\n",		\
		    t_g_ ? t_g_ : "(null)", t_w_ ? t_w_ : "(null)");	\
} while (0)

/* Integer equality with both values shown on failure. */
#define t_inteq(got, want, ...) do {					\
	long long t_g_ = (long long)(got), t_w_ = (long long)(want);	\
	if (!t_ok(t_g_ == t_w_, __VA_ARGS__))				\
		printf("#   got:  %lld\n#   want: %lld\n", t_g_, t_w_);	\
} while (0)

/* A comment line in the TAP stream. */
#define t_diag(...) do { printf("# "); printf(__VA_ARGS__);		\
	printf("\n"); } while (0)

static int __attribute__((unused))
t_done(void)
{
	printf("1..%d\n", t_count);
	return t_failed ? 1 : 0;
}

#endif
