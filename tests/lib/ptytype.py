#!/usr/bin/python3
"""ptytype: drive a command as a person at a terminal would.

    ptytype.py [--stdin FILE] [--timeout S] ACTION... -- COMMAND [ARG...]

The command runs in a new session with a pseudo-terminal as its
controlling terminal and as its standard input, output and error (or
standard input from FILE with --stdin).  The actions run in order:

    --wait TEXT   wait until the terminal has shown TEXT (since the start)
    --type TEXT   type TEXT; \\n, \\t, \\xNN and \\\\ are understood, so
                  \\x04 is Ctrl-D and \\x03 is Ctrl-C (the terminal's line
                  discipline turns them into end of file and SIGINT)

Everything the terminal showed (typed text is echoed) is copied to this
script's standard output at the end.  Exit status: the command's (128 + N
for a signal), or 98 when a --wait was not satisfied in time (the command
is then killed, its whole session).  Standard library only.
"""

import codecs
import fcntl
import os
import select
import signal
import sys
import termios
import time


def main():
    args = sys.argv[1:]
    actions = []
    stdin = None
    timeout = 20.0
    while args and args[0] != "--":
        opt = args.pop(0)
        if not args:
            sys.stderr.write("ptytype: %s needs a value\n" % opt)
            return 64
        val = args.pop(0)
        if opt == "--stdin":
            stdin = val
        elif opt == "--timeout":
            timeout = float(val)
        elif opt in ("--wait", "--type"):
            text = codecs.decode(val, "unicode_escape").encode("latin-1")
            actions.append((opt[2:], text))
        else:
            sys.stderr.write("ptytype: unknown option %s\n" % opt)
            return 64
    if not args or len(args) < 2:
        sys.stderr.write(__doc__)
        return 64
    cmd = args[1:]
    master, slave = os.openpty()
    pid = os.fork()
    if pid == 0:
        try:
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            if stdin is not None:
                fd = os.open(stdin, os.O_RDONLY)
                os.dup2(fd, 0)
            else:
                os.dup2(slave, 0)
            os.dup2(slave, 1)
            os.dup2(slave, 2)
            os.closerange(3, 256)
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    os.close(slave)
    shown = b""
    deadline = time.monotonic() + timeout
    code = None
    closed = False

    def pump(wait):
        nonlocal shown, closed
        if closed:
            return
        r, _, _ = select.select([master], [], [], wait)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                closed = True
            shown += data

    for kind, text in actions:
        if kind == "type":
            os.write(master, text)
            continue
        while text not in shown:
            left = deadline - time.monotonic()
            if left <= 0 or closed:
                sys.stderr.write("ptytype: never saw %r\n" % text)
                code = 98
                break
            pump(min(left, 0.5))
        if code is not None:
            break
    if code == 98:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
    while not closed and time.monotonic() < deadline:
        pump(0.5)
    if not closed:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        sys.stderr.write("ptytype: the command did not end in time\n")
        code = 98
    os.close(master)
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(shown)
    sys.stdout.flush()
    if code is not None:
        return code
    return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) \
        else 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main())
