"""A TCP proxy on loopback that delays every byte by a fixed time each way
and counts the request/response turns of each connection.

Delay model: each chunk read from one side is written to the other side
DELAY seconds after it was read, in order, as it was read (one read, one
write; TCP_NODELAY on both of the proxy's sockets so the proxy adds no
Nagle wait of its own).  That is a link with DELAY of latency each way and
no bandwidth limit.  TCP's own ACKs are not delayed (the proxy's kernel
sends them), so a client's Nagle/delayed-ACK stalls look as they do on
loopback, not as they would on a real 25 ms path.  The TCP handshake is not
delayed either: the first delayed thing a client sees is the greeting.

Turns.  A client flight is the client-to-server data read by the proxy
between two deliveries of server data to the client: it starts with the
first client byte read after the proxy last wrote server bytes to the
client, and takes every client byte until the proxy next writes server
bytes to the client.  A flight is a turn when the server answers it, that
is when the proxy reads server bytes after it delivered the flight's first
byte to the server.  So a turn is one wait of the client for the server:
every turn costs one full round trip (2 x DELAY) of wall time, and wall
time is about DELAY (the greeting) + turns x 2 x DELAY + the ends' own
work.  Flights nobody answers (a TLS close_notify sent after the 221 to
QUIT) are counted apart, as "trailing".  Client data sent before any
server data (implicit TLS's ClientHello) opens a flight like any other.
The definition is the same for every client; it sees only timing and byte
counts, never the protocol, so it works through TLS.

Standard library only.  Used by bench/rtt; also runs on its own:

    python3 bench/lib/delayproxy.py [--delay S] UPSTREAM_HOST UPSTREAM_PORT

prints the port it listens on (127.0.0.1, port chosen by the kernel), then
one JSON line per finished connection, until SIGINT or SIGTERM.
"""

import asyncio
import json
import signal
import socket
import sys
import threading
import time

CHUNK = 65536


class Flight:
    def __init__(self, t_read):
        self.t_read = t_read            # first client byte read
        self.t_delivered = None         # first client byte written upstream
        self.c_bytes = 0
        self.c_reads = 0
        self.t_answer = None            # first server byte read after that
        self.s_bytes = 0                # server bytes that answered it

    def as_dict(self, t0):
        def rel(t):
            return None if t is None else round(t - t0, 4)
        return {"t": rel(self.t_read), "client_bytes": self.c_bytes,
                "client_reads": self.c_reads, "answered": rel(self.t_answer),
                "server_bytes": self.s_bytes}


class ConnStats:
    """What one proxied connection did; see the module text."""

    def __init__(self, cid):
        self.id = cid
        self.t_accept = time.monotonic()
        self.t_closed = None
        self.flights = []
        self.server_bytes_before = 0    # server bytes before any flight
        self.c_total = 0
        self.s_total = 0
        self.error = None
        self._new_flight = True         # server data delivered since
        self._cur = None                #   the last client read

    # The proxy's events, in loop order.
    def client_read(self, t, n):
        self.c_total += n
        if self._new_flight or self._cur is None:
            self._cur = Flight(t)
            self.flights.append(self._cur)
            self._new_flight = False
        self._cur.c_bytes += n
        self._cur.c_reads += 1
        return self._cur

    def client_delivered(self, flight, t):
        if flight.t_delivered is None:
            flight.t_delivered = t

    def server_read(self, t, n):
        self.s_total += n
        last = None
        for f in self.flights:
            if f.t_answer is None and f.t_delivered is not None and \
                    f.t_delivered <= t:
                f.t_answer = t
            if f.t_answer is not None:
                last = f
        if last is not None:
            last.s_bytes += n
        else:
            self.server_bytes_before += n

    def server_delivered(self, t):
        self._new_flight = True

    @property
    def turns(self):
        return sum(1 for f in self.flights if f.t_answer is not None)

    @property
    def trailing(self):
        return sum(1 for f in self.flights if f.t_answer is None)

    def as_dict(self):
        end = self.t_closed if self.t_closed is not None else \
            time.monotonic()
        return {"id": self.id, "turns": self.turns,
                "trailing": self.trailing,
                "seconds": round(end - self.t_accept, 4),
                "client_bytes": self.c_total, "server_bytes": self.s_total,
                "error": self.error,
                "flights": [f.as_dict(self.t_accept) for f in self.flights]}


class DelayProxy:
    """Listens on 127.0.0.1:0 and forwards to (host, port) with delay
    seconds each way.  start() runs the event loop in a thread and returns
    the port; stop() closes everything.  finished() returns the ConnStats
    of connections whose both directions ended."""

    def __init__(self, host, port, delay=0.025, on_close=None):
        self.upstream = (host, port)
        self.delay = delay
        self.on_close = on_close
        self.port = None
        self._loop = None
        self._thread = None
        self._server = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._done = []
        self._cond = threading.Condition(self._lock)
        self._nconn = 0
        self._tasks = set()
        self._start_error = None

    # ---------------------------------------------------------------- API

    def start(self):
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            raise self._start_error
        return self.port

    def stop(self):
        if self._loop is None or self._thread is None:
            return
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._shutdown_soon)
        self._thread.join(10)

    def finished(self):
        with self._lock:
            return list(self._done)

    def wait_closed(self, count, timeout):
        """Waits until count connections have finished; True if so."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._done) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    # ---------------------------------------------------------- internals

    def _run(self):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._listen())
        except Exception as exc:        # reported by start()
            self._start_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _listen(self):
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", 0, reuse_address=False)
        self.port = self._server.sockets[0].getsockname()[1]

    def _shutdown_soon(self):
        asyncio.ensure_future(self._shutdown())

    async def _shutdown(self):
        self._server.close()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        self._loop.stop()

    async def _handle(self, c_reader, c_writer):
        task = asyncio.current_task()
        self._tasks.add(task)
        self._nconn += 1
        st = ConnStats(self._nconn)
        s_writer = None
        try:
            _nodelay(c_writer)
            try:
                s_reader, s_writer = await asyncio.open_connection(
                    *self.upstream)
            except OSError as exc:
                st.error = "upstream: %s" % exc
                return
            _nodelay(s_writer)
            await asyncio.gather(
                self._pipe(st, c_reader, s_writer, True),
                self._pipe(st, s_reader, c_writer, False))
        except asyncio.CancelledError:
            st.error = st.error or "cancelled"
        finally:
            for w in (c_writer, s_writer):
                if w is not None:
                    w.close()
            st.t_closed = time.monotonic()
            with self._cond:
                self._done.append(st)
                self._cond.notify_all()
            self._tasks.discard(task)
            if self.on_close is not None:
                self.on_close(st)

    async def _pipe(self, st, reader, writer, from_client):
        """Reads one direction and writes it delay seconds later."""
        queue = asyncio.Queue()

        async def sender():
            while True:
                due, data, flight = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data is None:
                    try:
                        if writer.can_write_eof():
                            writer.write_eof()
                    except OSError:
                        pass
                    return
                try:
                    writer.write(data)
                    await writer.drain()
                except OSError as exc:
                    st.error = st.error or str(exc)
                    return
                now = time.monotonic()
                if from_client:
                    st.client_delivered(flight, now)
                else:
                    st.server_delivered(now)

        task = asyncio.ensure_future(sender())
        try:
            while True:
                try:
                    data = await reader.read(CHUNK)
                except OSError as exc:
                    st.error = st.error or str(exc)
                    data = b""
                now = time.monotonic()
                if not data:
                    queue.put_nowait((now + self.delay, None, None))
                    break
                flight = st.client_read(now, len(data)) if from_client \
                    else None
                if not from_client:
                    st.server_read(now, len(data))
                queue.put_nowait((now + self.delay, data, flight))
            await task
        finally:
            task.cancel()


def _nodelay(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def main(argv):
    delay = 0.025
    args = list(argv)
    if len(args) >= 2 and args[0] == "--delay":
        delay = float(args[1])
        del args[:2]
    if len(args) != 2:
        sys.stderr.write("usage: delayproxy.py [--delay SECONDS] "
                         "UPSTREAM_HOST UPSTREAM_PORT\n")
        return 2

    def report(st):
        print(json.dumps(st.as_dict()), flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt

    # A background job of a non-interactive shell starts with SIGINT
    # ignored: take both signals explicitly.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    proxy = DelayProxy(args[0], int(args[1]), delay, on_close=report)
    print(proxy.start(), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
