/*
 * fuzz_conf: any bytes through conf_parse, then the substitutions with a
 * fixed environment, account choice by sender, a deep copy, and freeing.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "err.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf_env env = {
		.looked_up = 1, .user = "alice", .host = "box", .canon = "box.example.net",
		.mailname = "example.org", .home = "/home/alice",
	};
	struct account *a;
	struct conf c;
	struct err e;

	err_clear(&e);
	if (conf_parse(&c, (const char *)data, size, "fuzz", &e) == -1)
		return 0;
	if (conf_subst(&c, &env, &e) == 0 && c.naccounts > 0) {
		conf_account_for_from(&c, "alice+tag@example.org");
		a = conf_account_dup(c.accounts[c.naccounts - 1]);
		(void)conf_port(a);
		conf_account_free(a);
	}
	conf_free(&c);
	return 0;
}
