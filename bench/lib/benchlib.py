"""What bench/send and bench/rtt share: finding the clients, the private
Postfix of tests/interop/bench and Postfix's smtp-sink on loopback,
client configurations, the test message, timing a client run, and
statistics.  Every process started here is recorded and stopped by PID
(Cleanup), also on an error or SIGINT/SIGTERM.  Standard library only.
"""

import math
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
INTEROP_BENCH = os.path.join(REPO, "tests", "interop", "bench")
SENDER = "alice@example.org"


class BenchError(Exception):
    pass


def say(prog, msg):
    sys.stderr.write("%s: %s\n" % (prog, msg))


# ------------------------------------------------------------ processes

class Cleanup:
    """Stops, in reverse order, what was registered: processes by PID,
    the interop bench by `bench stop DIR`, temporary directories.  Turns
    SIGINT and SIGTERM into SystemExit so that the stops run."""

    def __init__(self):
        self._actions = []
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._on_signal)

    @staticmethod
    def _on_signal(signum, frame):
        raise SystemExit(128 + signum)

    def add(self, what, fn):
        self._actions.append((what, fn))

    def process(self, what, proc):
        self.add(what, lambda: stop_process(proc))

    def run(self):
        # A second Ctrl-C must not cut the stops short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        while self._actions:
            what, fn = self._actions.pop()
            try:
                fn()
            except Exception as exc:    # keep stopping the rest
                sys.stderr.write("cleanup: %s: %s\n" % (what, exc))


def stop_process(proc, grace=5.0):
    """SIGTERM to proc's PID, SIGKILL if it has not exited in grace s."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


def free_port():
    """A port the kernel says is free on 127.0.0.1 now (bind port 0).
    Whoever binds it next may lose a race: callers retry."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# -------------------------------------------------------------- clients

def find_posthorn():
    """$POSTHORN, else ./posthorn at the top of the tree (make's output),
    else posthorn on PATH."""
    cand = os.environ.get("POSTHORN")
    if not cand:
        cand = os.path.join(REPO, "posthorn")
        if not is_program(cand):
            cand = shutil.which("posthorn")
    if not cand or not is_program(cand):
        raise BenchError("no posthorn binary: build it or set POSTHORN")
    return os.path.abspath(cand)


def is_program(path):
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_tool(name, env):
    path = os.environ.get(env) or shutil.which(name)
    if not path or not is_program(path):
        return None
    return path


def write_file(path, text, mode=0o600):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)


def msmtp_config(target):
    """msmtprc text for a target dict (host, port, tls, ca, user, password)
    that both msmtp and posthorn read."""
    lines = ["defaults", "account bench", "host %s" % target["host"],
             "port %d" % target["port"], "from %s" % SENDER]
    if target.get("tls"):
        lines += ["tls on", "tls_starttls on",
                  "tls_trust_file %s" % target["ca"]]
    else:
        lines += ["tls off"]
    if target.get("user"):
        lines += ["auth plain", "user %s" % target["user"],
                  "password %s" % target["password"]]
    else:
        lines += ["auth off"]
    lines += ["account default : bench"]
    return "\n".join(lines) + "\n"


def make_configs(workdir, name, target):
    """Writes NAME.msmtprc and NAME.posthorn (the same plus a queue_dir
    under workdir, so posthorn's spool stays out of the system's) and
    returns their paths."""
    text = msmtp_config(target)
    m = os.path.join(workdir, name + ".msmtprc")
    p = os.path.join(workdir, name + ".posthorn")
    q = os.path.join(workdir, "queue")
    write_file(m, text)
    write_file(p, text + "queue_dir %s\n" % q)
    return m, p


def snail_argv(snail, target):
    """s-nail (v15-compat) sending a whole message from stdin (-t), with
    no resource files and no dead.letter.  s-nail checks the certificate
    against the URL's host name only, not against an IP address, so it
    connects to "localhost" (the certificate's DNS name); callers check
    that localhost is 127.0.0.1 here."""
    argv = [snail, "-:/", "-Sv15-compat", "-Snosave", "-Ssendwait",
            "-Sfrom=%s" % SENDER]
    if target.get("tls"):
        argv += ["-Smta=smtp://%s@localhost:%d" % (target["user"],
                                                   target["port"]),
                 "-Ssmtp-use-starttls", "-Stls-ca-file=%s" % target["ca"],
                 "-Stls-ca-no-defaults"]
    else:
        argv += ["-Smta=smtp://%s:%d" % (target["host"], target["port"])]
    if target.get("user"):
        argv += ["-Ssmtp-auth=plain", "-Spassword=%s" % target["password"]]
    else:
        argv += ["-Ssmtp-auth=none"]
    return argv + ["-t"]


def localhost_is_loopback4():
    try:
        infos = socket.getaddrinfo("localhost", 25, socket.AF_UNSPEC,
                                   socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and infos[0][4][0] == "127.0.0.1"


def make_message(path, size=2048, to="bob@example.org"):
    """A plain text message of exactly size octets, LF line ends, with
    From, To and Subject (Date and Message-ID are the client's to add)."""
    head = ("From: Alice <%s>\nTo: <%s>\n"
            "Subject: posthorn bench\n\n" % (SENDER, to))
    line = "The quick brown fox jumps over the lazy dog; " \
           "0123456789 abcdefghij.\n"
    body = line * ((size - len(head)) // len(line) + 1)
    text = (head + body)[:size - 1] + "\n"
    with open(path, "w") as f:
        f.write(text)
    return len(text.encode())


class Run:
    def __init__(self, wall, cpu, rc, stderr):
        self.wall = wall
        self.cpu = cpu
        self.rc = rc
        self.stderr = stderr


def timed_run(argv, stdin_path, timeout=60.0, env=None):
    """Runs argv with stdin from a file; returns its wall time (fork to
    reaped, seconds), the CPU time it used (user + system, its children
    included), its exit code and stderr (kept in a file, so no pipe makes
    the client wait).  A run longer than timeout is killed (exit -9)."""
    with open(stdin_path, "rb") as fin, tempfile.TemporaryFile() as ferr:
        t0 = time.perf_counter()
        try:
            proc = subprocess.Popen(argv, stdin=fin,
                                    stdout=subprocess.DEVNULL, stderr=ferr,
                                    env=env)
        except OSError as exc:
            raise BenchError("cannot run %s: %s" % (argv[0], exc))
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, ru = os.wait4(proc.pid, 0)
        except BaseException:
            stop_process(proc)
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        ferr.seek(0)
        err = ferr.read().decode("utf-8", "replace")
    return Run(wall, ru.ru_utime + ru.ru_stime, proc.returncode, err)


# ---------------------------------------------------------------- servers

class PostfixBench:
    """tests/interop/bench: started in a new directory (stopped and removed
    at cleanup), or one already running (BENCH_DIR), left alone."""

    def __init__(self, cleanup, prog):
        self.cleanup = cleanup
        self.prog = prog
        self.env = None

    def start(self):
        given = os.environ.get("BENCH_DIR")
        if given:
            self.env = self._read_env(given)
            return self.env
        if os.geteuid() != 0:
            raise BenchError("starting the private Postfix needs root (or "
                             "set BENCH_DIR to a running interop bench)")
        parent = tempfile.mkdtemp(prefix="posthorn-bench.")
        os.chmod(parent, 0o755)     # Postfix's user reaches its queue
        d = os.path.join(parent, "pf")
        self.cleanup.add("rm %s" % parent,
                         lambda: shutil.rmtree(parent, ignore_errors=True))
        self.cleanup.add("bench stop %s" % d, lambda: subprocess.run(
            [INTEROP_BENCH, "stop", d], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, timeout=60))
        r = subprocess.run([INTEROP_BENCH, "start", d],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        if r.returncode != 0:
            raise BenchError("tests/interop/bench start failed:\n%s"
                             % r.stderr.strip())
        self.env = self._read_env(d)
        return self.env

    @staticmethod
    def _read_env(d):
        r = subprocess.run([INTEROP_BENCH, "env", d], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise BenchError("tests/interop/bench env %s: %s"
                             % (d, r.stderr.strip()))
        env = {}
        for tok in shlex.split(r.stdout, comments=True):
            k, _, v = tok.partition("=")
            env[k] = v
        return env

    def set_main_cf(self, key, value):
        """postconf -e on the bench's own Postfix, then postfix reload (new
        smtpd processes read it; callers poll until it shows)."""
        if os.environ.get("BENCH_DIR"):
            raise BenchError("will not reconfigure the Postfix of BENCH_DIR;"
                             " unset it to let the bench start its own")
        etc = os.path.join(self.env["BENCH_DIR"], "postfix", "etc")
        for argv in (["postconf", "-c", etc, "-e", "%s=%s" % (key, value)],
                     ["postfix", "-c", etc, "reload"]):
            r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True,
                               timeout=60)
            if r.returncode != 0:
                raise BenchError("%s: %s" % (" ".join(argv),
                                             r.stdout.strip()))

    def target(self, port=None):
        e = self.env
        return {"host": "127.0.0.1",
                "port": int(port or e["BENCH_SUBMISSION_PORT"]),
                "tls": True, "ca": e["BENCH_CA"], "user": e["BENCH_USER"],
                "password": e["BENCH_PASSWORD"]}


def start_smtp_sink(cleanup, tries=5):
    """Postfix's smtp-sink on 127.0.0.1 at a free port; returns the port.
    It must drop root (-u), so it runs as postfix when started as root."""
    sink = shutil.which("smtp-sink") or "/usr/sbin/smtp-sink"
    if not os.access(sink, os.X_OK):
        raise BenchError("no smtp-sink (Debian package postfix)")
    for _ in range(tries):
        port = free_port()
        argv = [sink]
        if os.geteuid() == 0:
            argv += ["-u", "postfix"]
        argv += ["127.0.0.1:%d" % port, "256"]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        cleanup.process("smtp-sink pid %d" % proc.pid, proc)
        if wait_greeting(port, proc, 10.0):
            return port
        stop_process(proc)
    raise BenchError("smtp-sink did not start on a free port in %d tries"
                     % tries)


def wait_greeting(port, proc, timeout):
    """Polls until a connection to port gets a 220, or proc exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), 1.0) as s:
                s.settimeout(2.0)
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return True
        except OSError:
            time.sleep(0.02)
    return False


# ----------------------------------------------------------------- stats

def median(xs):
    return statistics.median(xs)


def p90(xs):
    """Nearest-rank 90th percentile."""
    s = sorted(xs)
    return s[max(0, math.ceil(0.9 * len(s)) - 1)]


def ms(x):
    return "%.1f" % (x * 1000.0)
