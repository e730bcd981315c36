#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""bench-net.py - the two traffic programs of scripts/bench-guest.sh.

  bench-net.py server --port P --backlog N --size BYTES [--hold 1] NETNS...
      One process serves a small HTTP response (BYTES of body, HTTP/1.0,
      connection closed) on port P in every named network namespace (the
      names under /run/netns). Its listening sockets are made in each
      namespace with setns(2), so one interpreter start serves them all:
      under TCG every exec costs a noticeable fraction of a second.
      With --hold 1 it only listens and never accepts: connections stay in
      the accept queue (the instruction counts of a handshake must not
      include an application's), until "flush" resets them all.
      Commands on stdin, one answer line each on stdout:
        flush   close and reopen every listener: its SYN queue starts empty
        quit    exit

  bench-net.py client
      The legitimate client, from the namespace it runs in. Commands on
      stdin, one answer line each on stdout:
        legit ADDR PORT RATE SECONDS TIMEOUT
            open RATE connections per second for SECONDS (a fixed schedule,
            not closed-loop: a slow answer does not delay the next
            attempt), each sends "GET /" and reads the whole response. An
            attempt succeeds when the full response arrived within TIMEOUT
            seconds of its start. Answers "attempts=N ok=N fail=N
            conn_p50=MS conn_p99=MS http_p50=MS http_p99=MS why=..." where
            conn is the connect() time and http the time to the last byte,
            percentiles over the successful attempts (nearest rank), "-"
            when there are none.
        quit    exit
"""
import ctypes
import errno
import os
import selectors
import socket
import sys
import time

CLONE_NEWNET = 0x40000000


def setns(fd):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


# --------------------------------------------------------------- server

class Server:
    def __init__(self, port, backlog, size, names, hold=False):
        self.port = port
        self.backlog = backlog
        self.hold = hold
        body = b"x" * size
        self.response = (b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % size) + body
        self.names = names
        self.sel = selectors.DefaultSelector()
        self.listeners = {}
        self.conns = {}
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)

    def listen_all(self):
        for name in self.names:
            fd = os.open("/run/netns/" + name, os.O_RDONLY)
            try:
                setns(fd)
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            finally:
                setns(self.home)
                os.close(fd)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", self.port))
            s.listen(self.backlog)
            s.setblocking(False)
            self.listeners[s.fileno()] = s
            if not self.hold:
                self.sel.register(s, selectors.EVENT_READ, ("listen", None))

    def close_listeners(self):
        # Closing a listener resets the connections still in its accept
        # queue (RST, no timers left behind).
        for s in self.listeners.values():
            if not self.hold:
                self.sel.unregister(s)
            s.close()
        self.listeners = {}

    def drop(self, s):
        self.sel.unregister(s)
        self.conns.pop(s.fileno(), None)
        s.close()

    def on_accept(self, ls):
        for _ in range(64):
            try:
                c, _ = ls.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            c.setblocking(False)
            st = {"buf": b"", "out": None, "t": time.monotonic()}
            self.conns[c.fileno()] = (c, st)
            self.sel.register(c, selectors.EVENT_READ, ("conn", st))

    def on_conn(self, c, st, mask):
        try:
            if st["out"] is None:
                data = c.recv(4096)
                if not data:
                    self.drop(c)
                    return
                st["buf"] += data
                if b"\r\n\r\n" not in st["buf"] and len(st["buf"]) < 8192:
                    return
                st["out"] = memoryview(self.response)
                self.sel.modify(c, selectors.EVENT_WRITE, ("conn", st))
            n = c.send(st["out"])
            st["out"] = st["out"][n:]
            if not len(st["out"]):
                self.drop(c)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.drop(c)

    def command(self, line):
        cmd = line.split()
        if not cmd:
            return True
        if cmd[0] == "flush":
            self.close_listeners()
            self.listen_all()
            print("ok", flush=True)
        elif cmd[0] == "quit":
            return False
        else:
            print("error unknown command", flush=True)
        return True

    def run(self):
        self.listen_all()
        os.set_blocking(0, False)
        self.sel.register(0, selectors.EVENT_READ, ("stdin", None))
        print("ready", flush=True)
        pending = b""
        last_gc = time.monotonic()
        while True:
            for key, mask in self.sel.select(1.0):
                kind, st = key.data
                if kind == "listen":
                    self.on_accept(key.fileobj)
                elif kind == "conn":
                    self.on_conn(key.fileobj, st, mask)
                else:
                    try:
                        data = os.read(0, 4096)
                    except BlockingIOError:
                        continue
                    if not data:
                        return
                    pending += data
                    while b"\n" in pending:
                        line, pending = pending.split(b"\n", 1)
                        if not self.command(line.decode()):
                            return
            now = time.monotonic()
            if now - last_gc > 5:
                last_gc = now
                for c, st in list(self.conns.values()):
                    if now - st["t"] > 30:
                        self.drop(c)


# --------------------------------------------------------------- client

def pct(values, p):
    if not values:
        return "-"
    v = sorted(values)
    k = max(0, min(len(v) - 1, int((p * len(v) + 99) // 100) - 1))
    return "%.2f" % (v[k] * 1000.0)


def legit(addr, port, rate, seconds, timeout):
    request = b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n"
    sel = selectors.DefaultSelector()
    total = max(1, int(round(rate * seconds)))
    start = time.monotonic()
    launched = 0
    live = {}
    conn_t, http_t = [], []
    ok = 0
    why = {}

    def fail(s, st, reason):
        why[reason] = why.get(reason, 0) + 1
        sel.unregister(s)
        live.pop(s.fileno(), None)
        s.close()

    while launched < total or live:
        now = time.monotonic()
        while launched < total and start + launched / rate <= now:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            st = {"t0": time.monotonic(), "state": "connect", "got": 0, "expect": None,
                  "hdr": b""}
            rc = s.connect_ex((addr, port))
            launched += 1
            if rc not in (0, errno.EINPROGRESS):
                why[errno.errorcode.get(rc, str(rc))] = \
                    why.get(errno.errorcode.get(rc, str(rc)), 0) + 1
                s.close()
                continue
            live[s.fileno()] = (s, st)
            sel.register(s, selectors.EVENT_WRITE, st)
        # expire
        for s, st in list(live.values()):
            if now - st["t0"] > timeout:
                fail(s, st, "timeout-" + st["state"])
        wait = 0.2
        if launched < total:
            wait = min(wait, max(0.0, start + launched / rate - time.monotonic()))
        for key, mask in sel.select(wait):
            s, st = key.fileobj, key.data
            t = time.monotonic()
            if st["state"] == "connect":
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(s, st, errno.errorcode.get(err, str(err)))
                    continue
                st["conn"] = t - st["t0"]
                try:
                    s.send(request)
                except OSError as e:
                    fail(s, st, "send-" + errno.errorcode.get(e.errno, "?"))
                    continue
                st["state"] = "read"
                sel.modify(s, selectors.EVENT_READ, st)
                continue
            try:
                data = s.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                fail(s, st, "recv-" + errno.errorcode.get(e.errno, "?"))
                continue
            if data:
                if st["expect"] is None:
                    st["hdr"] += data
                    if b"\r\n\r\n" in st["hdr"]:
                        head, _ = st["hdr"].split(b"\r\n\r\n", 1)
                        n = 0
                        for line in head.split(b"\r\n"):
                            if line.lower().startswith(b"content-length:"):
                                n = int(line.split(b":", 1)[1])
                        st["expect"] = len(head) + 4 + n
                st["got"] += len(data)
                continue
            # EOF
            if st["expect"] is not None and st["got"] >= st["expect"]:
                ok += 1
                conn_t.append(st["conn"])
                http_t.append(t - st["t0"])
                sel.unregister(s)
                live.pop(s.fileno(), None)
                s.close()
            else:
                fail(s, st, "short")
    sel.close()
    reasons = ",".join("%s:%d" % kv for kv in sorted(why.items())) or "-"
    return ("attempts=%d ok=%d fail=%d conn_p50=%s conn_p99=%s http_p50=%s http_p99=%s "
            "why=%s" % (total, ok, total - ok, pct(conn_t, 50), pct(conn_t, 99),
                        pct(http_t, 50), pct(http_t, 99), reasons))


def client():
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "quit":
            return
        if cmd[0] == "legit" and len(cmd) == 6:
            try:
                print(legit(cmd[1], int(cmd[2]), float(cmd[3]), float(cmd[4]),
                            float(cmd[5])), flush=True)
            except Exception as e:  # keep serving: the caller reads one line
                print("error %s" % str(e).replace(" ", "_"), flush=True)
        else:
            print("error bad command", flush=True)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "client":
        client()
        return 0
    if len(sys.argv) >= 2 and sys.argv[1] == "server":
        args = sys.argv[2:]
        opts = {"--port": 8080, "--backlog": 64, "--size": 16384, "--hold": 0}
        names = []
        while args:
            a = args.pop(0)
            if a in opts and args:
                opts[a] = int(args.pop(0))
            else:
                names.append(a)
        if not names:
            print(__doc__, file=sys.stderr)
            return 2
        Server(opts["--port"], opts["--backlog"], opts["--size"], names,
               bool(opts["--hold"])).run()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
