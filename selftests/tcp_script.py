#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Scripted TCP behaviours for synguard's comparison test (compare.sh).

  tcp_script.py server ADDR PORT OUT
      Serve forever. A client's first line names a scenario; the server
      plays its side and appends one JSON line to OUT with what it saw: the
      bytes and their digest, how the stream ended (EOF, reset), urgent
      data, and the listener's TCP_INFO fields that do not depend on timing.

  tcp_script.py client ADDR PORT SCENARIO
      Play SCENARIO's client side; exit 0 if what came back is right.

  tcp_script.py clients PORT
      The same for each line "ID ADDR SCENARIO" read from stdin, answering
      "ID 0" (right) or "ID 1" on stdout: one python start for a whole
      test (each costs a second under TCG).

Scenarios: plain, urgent, zero_window, reset, shutdown, bulk (a large
transfer, for loss and SACK recovery when the test drops segments).
"""
import hashlib
import json
import socket
import struct
import sys
import time

TCPI_LEN = 232


def tcp_info(s):
    raw = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCPI_LEN)
    return {
        "options": raw[5],
        "snd_wscale": raw[6] & 0xf,
        "rcv_wscale": raw[6] >> 4,
        "snd_mss": struct.unpack_from("I", raw, 16)[0],
        "advmss": struct.unpack_from("I", raw, 84)[0],
        "maxseg": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG),
    }


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def pattern(n):
    return bytes(i * 7 % 251 for i in range(n))


def read_all(c, rec, limit=1 << 30):
    h = hashlib.sha256()
    n = 0
    try:
        while n < limit:
            b = c.recv(min(65536, limit - n))
            if not b:
                rec["end"] = "eof"
                break
            h.update(b)
            n += len(b)
    except ConnectionResetError:
        rec["end"] = "reset"
    rec["bytes"] = n
    rec["sha"] = h.hexdigest()[:16]


def serve(c, rec):
    line = b""
    while not line.endswith(b"\n"):
        b = c.recv(1)
        if not b:
            return
        line += b
    sc = line.decode().strip()
    rec["scenario"] = sc
    rec.update(tcp_info(c))
    if sc == "plain":
        read_all(c, rec)
        c.sendall(pattern(100000))
    elif sc == "urgent":
        # The urgent byte is out of band; the rest arrives in order.
        data = b""
        while len(data) < 6:
            data += c.recv(6 - len(data))
        rec["inline"] = data.decode()
        for _ in range(100):
            try:
                rec["oob"] = c.recv(1, socket.MSG_OOB).decode()
                break
            except BlockingIOError:
                time.sleep(0.05)
            except OSError as e:
                rec["oob_err"] = e.errno
                break
        read_all(c, rec)
    elif sc == "zero_window":
        # Read nothing until the client is stuck on a closed window.
        c.recv(1)
        time.sleep(1.5)
        read_all(c, rec)
        rec["bytes"] += 1
    elif sc == "reset":
        read_all(c, rec)
    elif sc == "shutdown":
        read_all(c, rec)
        c.sendall(pattern(50000))
    elif sc == "bulk":
        read_all(c, rec)
        c.sendall(b"done")


def server(addr, port, out):
    ls = socket.socket(family(addr))
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # A small receive buffer, so that zero_window closes the window soon.
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    ls.bind((addr, port))
    ls.listen(16)
    while True:
        c = ls.accept()[0]
        rec = {}
        try:
            serve(c, rec)
        except OSError as e:
            rec["error"] = e.errno
        c.close()
        with open(out, "a") as f:
            f.write(json.dumps(rec, sort_keys=True) + "\n")


def expect(s, n):
    h, got = hashlib.sha256(), 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        h.update(b)
        got += len(b)
    return got == n and h.digest() == hashlib.sha256(pattern(n)).digest()


def client(addr, port, sc):
    s = socket.socket(family(addr))
    s.settimeout(30)
    s.connect((addr, port))
    s.sendall((sc + "\n").encode())
    ok = True
    if sc == "plain":
        s.sendall(pattern(100000))
        s.shutdown(socket.SHUT_WR)
        ok = expect(s, 100000)
    elif sc == "urgent":
        s.sendall(b"abc")
        s.send(b"!", socket.MSG_OOB)
        s.sendall(b"def")
        s.shutdown(socket.SHUT_WR)
        ok = expect(s, 0)
    elif sc == "zero_window":
        s.sendall(pattern(300000))
        s.shutdown(socket.SHUT_WR)
        ok = expect(s, 0)
    elif sc == "reset":
        s.sendall(pattern(1000))
        time.sleep(0.3)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
    elif sc == "shutdown":
        s.shutdown(socket.SHUT_WR)
        ok = expect(s, 50000)
    elif sc == "bulk":
        s.sendall(pattern(2000000))
        s.shutdown(socket.SHUT_WR)
        ok = s.recv(4) == b"done"
    s.close()
    return ok


def clients(port):
    for line in sys.stdin:
        words = line.split()
        if len(words) != 3:
            continue
        try:
            ok = client(words[1], port, words[2])
        except (OSError, ValueError) as e:
            print("%s: %s" % (line.strip(), e), file=sys.stderr, flush=True)
            ok = False
        print(words[0], 0 if ok else 1, flush=True)


def main():
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif sys.argv[1] == "clients":
        clients(int(sys.argv[2]))
    else:
        sys.exit(0 if client(sys.argv[2], int(sys.argv[3]), sys.argv[4])
                 else 1)


if __name__ == "__main__":
    main()
