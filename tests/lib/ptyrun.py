#!/usr/bin/python3
"""ptyrun: run a command with its standard error on a pseudo-terminal.

    ptyrun.py COMMAND [ARG...]

Standard input and output stay what they are; standard error is the slave
side of a new pseudo-terminal (so isatty(2) is true), and everything the
command writes there is copied, byte for byte, to this script's standard
output once the command has written it.  Exits with the command's exit
status (128 + N for a signal).  For tests of what posthorn shows on a
terminal; standard library only.
"""

import os
import sys


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: ptyrun.py COMMAND [ARG...]\n")
        return 64
    master, slave = os.openpty()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(master)
            os.dup2(slave, 2)
            if slave != 2:
                os.close(slave)
            os.execvp(sys.argv[1], sys.argv[1:])
        finally:
            os._exit(127)
    os.close(slave)
    out = sys.stdout.buffer
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            # EIO: every slave descriptor is closed (the command ended).
            break
        if not data:
            break
        out.write(data)
        out.flush()
    os.close(master)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main())
