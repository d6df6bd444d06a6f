/*
 * secmem owns the process-wide protections for secrets in memory: not
 * dumpable, no core file.
 */
#include "config.h"

#include <errno.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "util/alloc.h"
#include "util/secmem.h"

static int protected;

int
secmem_protect(void)
{
	struct rlimit rl = { 0, 0 };
	int rv = 0, saved = 0;

	if (protected)
		return 0;
	protected = 1;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		saved = errno;
		rv = -1;
	}
	if (setrlimit(RLIMIT_CORE, &rl) == -1) {
		saved = errno;
		rv = -1;
	}
	if (rv == -1)
		errno = saved;
	return rv;
}

int
secmem_protected(void)
{
	return protected;
}

void __attribute__((noinline))
secmem_scrub_stack(void)
{
	char pad[SECMEM_SCRUB];

	wipe(pad, sizeof(pad));
	/* The array must exist, and stay written, whatever the optimiser
	   thinks of it. */
	__asm__ __volatile__("" : : "r"(pad) : "memory");
}
