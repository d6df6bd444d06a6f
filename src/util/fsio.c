/*
 * fsio owns the low-level file-system calls whose error handling must not
 * be written twice: short writes, EINTR, directory fsync.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/fsio.h"
#include "util/sig.h"

int
fsio_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
fsio_read(int fd, void *p, size_t n)
{
	ssize_t r;

	/* A caught SIGINT/SIGTERM/SIGHUP ends the wait; others retry. */
	do
		r = read(fd, p, n);
	while (r == -1 && errno == EINTR && !sig_caught);
	return r;
}

ssize_t
fsio_read_wait(int fd, void *p, size_t n)
{
	struct pollfd pf[2];
	nfds_t np = 1;

	pf[0].fd = fd;
	pf[0].events = POLLIN;
	if (sig_fd != -1) {
		pf[1].fd = sig_fd;
		pf[1].events = POLLIN;
		np = 2;
	}
	for (;;) {
		if (sig_caught) {
			errno = EINTR;
			return -1;
		}
		if (poll(pf, np, -1) == -1) {
			if (errno == EINTR)
				continue;
			/* poll cannot wait on this descriptor: read does. */
			return fsio_read(fd, p, n);
		}
		if (sig_caught) {
			errno = EINTR;
			return -1;
		}
		if (np == 2 && pf[1].revents != 0) {
			/* A byte without a signal: not one of ours (a child
			   wrote it before it dropped our handlers). */
			char c;

			(void)!read(sig_fd, &c, 1);
		}
		if (pf[0].revents != 0)
			return fsio_read(fd, p, n);
	}
}

int
fsio_read_file(const char *path, struct buf *b)
{
	char chunk[8192];
	ssize_t r;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((r = fsio_read(fd, chunk, sizeof(chunk))) > 0) {
		if (buf_add(b, chunk, (size_t)r) == -1) {
			close(fd);
			errno = EFBIG;
			return -1;
		}
	}
	saved = errno;
	close(fd);
	if (r == -1) {
		errno = saved;
		return -1;
	}
	return 0;
}

int
fsio_fsync_dir(const char *path)
{
	int fd, r, saved;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int
fsio_mkdirs(const char *path, mode_t mode)
{
	char *p, *s;
	int r = 0;

	p = xstrdup(path);
	for (s = p + 1; r == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		int end = *s == '\0';

		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			r = -1;
		if (end)
			break;
		*s = '/';
	}
	free(p);
	return r;
}
