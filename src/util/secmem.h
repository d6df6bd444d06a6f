/*
 * secmem: keeping secrets out of core files and out of other processes'
 * reach.  A process that will hold a password or token calls
 * secmem_protect() first: from then on it is not dumpable (no core file,
 * and other processes of the same user can neither ptrace it nor read
 * /proc/PID/mem) and its core size limit is 0, which the commands it runs
 * inherit.  Secrets themselves are still wiped as soon as they are used
 * (wipe, buf_init_secret); this is the net under that.
 */
#ifndef POSTHORN_SECMEM_H
#define POSTHORN_SECMEM_H

/*
 * PR_SET_DUMPABLE 0 and RLIMIT_CORE 0, once; it stays so for the life of
 * the process (freed memory may still hold pieces of a secret that some
 * library did not wipe).  0, or -1 with errno when either call failed
 * (the other was still made).
 */
int	 secmem_protect(void);

/* 1 once secmem_protect has run. */
int	 secmem_protected(void);

/*
 * Wipes the stack below the caller's frame (SECMEM_SCRUB bytes): the
 * frames of the calls that handled a secret are gone, but their bytes are
 * not, and the dynamic linker's lazy binding saves the vector registers
 * (which memcpy and read just used on the secret) to the stack.  Called
 * after a secret was used (AUTH, passwordeval, reading the file).
 */
#define SECMEM_SCRUB	(64 * 1024)
void	 secmem_scrub_stack(void);

#endif
