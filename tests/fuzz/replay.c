/*
 * replay: runs a libFuzzer target over its seed corpus without libFuzzer,
 * so every `make check` (and the sanitizer build) replays the corpora.
 * The corpus is $TOP_SRCDIR/tests/fuzz/corpus/NAME, NAME being the part of
 * the program name after "replay_"; arguments name other files or
 * directories instead.  Prints one TAP line per input.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/fsio.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count;

static void
run_file(const char *path)
{
	struct buf b;

	buf_init(&b, 0);
	if (fsio_read_file(path, &b) == -1) {
		printf("not ok %d - read %s: %s\n", ++count, path,
		    strerror(errno));
		return;
	}
	/* A copy of exactly the input's size lets ASan see over-reads. */
	uint8_t *copy = xmalloc(b.len ? b.len : 1);

	memcpy(copy, b.data ? b.data : "", b.len);
	LLVMFuzzerTestOneInput(copy, b.len);
	free(copy);
	buf_release(&b);
	printf("ok %d - %s\n", ++count, path);
	fflush(stdout);
}

static void
run_path(const char *path)
{
	struct stat st;
	struct dirent **ents;
	int n, i;

	if (stat(path, &st) == -1) {
		printf("not ok %d - %s: %s\n", ++count, path, strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	n = scandir(path, &ents, NULL, alphasort);
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.') {
			char *p = xasprintf("%s/%s", path, ents[i]->d_name);

			run_path(p);
			free(p);
		}
		free(ents[i]);
	}
	if (n >= 0)
		free(ents);
}

int
main(int argc, char **argv)
{
	const char *name, *top;
	char *dir;
	int i;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			run_path(argv[i]);
	} else {
		name = strrchr(argv[0], '/');
		name = name ? name + 1 : argv[0];
		if (strncmp(name, "lt-", 3) == 0)
			name += 3;
		if (strncmp(name, "replay_", 7) == 0)
			name += 7;
		top = getenv("TOP_SRCDIR");
		dir = xasprintf("%s/tests/fuzz/corpus/%s", top ? top : ".",
		    name);
		run_path(dir);
		free(dir);
	}
	printf("1..%d\n", count);
	return 0;
}
