/*
 * fsio: file-system helpers with the durability rules in one place: whole
 * writes, fsync of a file and of its directory, directory creation.
 */
#ifndef POSTHORN_FSIO_H
#define POSTHORN_FSIO_H

#include <stddef.h>
#include <sys/types.h>

struct buf;

/* Writes all n bytes, retrying on EINTR and short writes; 0 or -1 (errno). */
int	 fsio_write_all(int fd, const void *p, size_t n);
/* Reads up to n bytes, retrying on EINTR; bytes read, 0 at EOF, -1 (errno). */
ssize_t	 fsio_read(int fd, void *p, size_t n);
/*
 * The same for input that may keep posthorn waiting (standard input, a
 * pipe): it waits in poll(2) on fd and sig_fd together, so a SIGINT,
 * SIGTERM or SIGHUP ends the wait even when it came just before it
 * (-1, EINTR), where read(2) alone would block on.
 */
ssize_t	 fsio_read_wait(int fd, void *p, size_t n);
/*
 * Reads a whole file into b (respecting b's cap: errno EFBIG when over);
 * 0 or -1 (errno).
 */
int	 fsio_read_file(const char *path, struct buf *b);
/* fsync(2) of the directory at path; 0 or -1 (errno). */
int	 fsio_fsync_dir(const char *path);
/* mkdir -p with mode for each created level; 0 or -1 (errno). */
int	 fsio_mkdirs(const char *path, mode_t mode);

#endif
