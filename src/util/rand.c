/*
 * rand owns access to the kernel's random number generator.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#ifdef HAVE_GETRANDOM
#include <sys/random.h>
#endif

#include "util/fsio.h"
#include "util/rand.h"

int
rand_bytes(void *p, size_t n)
{
	unsigned char *c = p;
	ssize_t r;

#ifdef HAVE_GETRANDOM
	while (n > 0) {
		r = getrandom(c, n, 0);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		c += r;
		n -= (size_t)r;
	}
	if (n == 0)
		return 0;
#endif
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		return -1;
	while (n > 0) {
		r = fsio_read(fd, c, n);
		if (r <= 0) {
			close(fd);
			errno = r == 0 ? EIO : errno;
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	close(fd);
	return 0;
}

int
rand_alnum(char *out, size_t n)
{
	static const char set[] =
	    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char r[64];
	size_t i, k = sizeof(r);

	for (i = 0; i < n; i++) {
		/* Rejection sampling keeps the 62 symbols equally likely. */
		do {
			if (k == sizeof(r)) {
				if (rand_bytes(r, sizeof(r)) == -1)
					return -1;
				k = 0;
			}
		} while (r[k] >= 248 && ++k);
		out[i] = set[r[k++] % 62];
	}
	out[n] = '\0';
	return 0;
}
