#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A TCP peer that reports what TCP_INFO says, for synguard's selftests.

  tcp_peer.py server ADDR PORT NBYTES OUT
      Accept connections forever. For each, right after accept(), record the
      listener side's view (TCP_MAXSEG, TCP_INFO), then send NBYTES and
      close. One JSON line per connection is appended to OUT.

  tcp_peer.py client ADDR PORT [MSS]
      Connect (with TCP_MAXSEG set to MSS before connect() if given), read
      to EOF, print one JSON line: the local port, bytes read, the client's
      TCP_INFO after the first bytes (snd_wnd: the listener's window as the
      client sees it) and at the end (rcv_mss: the largest segment seen).
"""
import json
import socket
import struct
import sys

# struct tcp_info (include/uapi/linux/tcp.h), the fields used here.
TCPI_FIELDS = {
    "options": ("B", 5),
    "snd_mss": ("I", 16),
    "rcv_mss": ("I", 20),
    "rtt": ("I", 68),
    "advmss": ("I", 84),
    "min_rtt": ("I", 148),
    "snd_wnd": ("I", 228),
}
TCPI_LEN = 232


def tcp_info(s):
    raw = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, TCPI_LEN)
    info = {}
    for name, (fmt, off) in TCPI_FIELDS.items():
        if off + struct.calcsize(fmt) <= len(raw):
            info[name] = struct.unpack_from(fmt, raw, off)[0]
    info["snd_wscale"] = raw[6] & 0xf
    info["rcv_wscale"] = raw[6] >> 4
    return info


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def server(addr, port, nbytes, out):
    ls = socket.socket(family(addr))
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(64)
    data = b"x" * nbytes
    while True:
        c, peer = ls.accept()
        rec = {"peer_port": peer[1],
               "maxseg": c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)}
        rec.update(tcp_info(c))
        try:
            c.sendall(data)
        except OSError:
            pass
        c.close()
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")


def client(addr, port, mss):
    s = socket.socket(family(addr))
    if mss:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
    s.settimeout(30)
    s.connect((addr, port))
    rec = {"port": s.getsockname()[1], "bytes": 0}
    while True:
        b = s.recv(65536)
        if not b:
            break
        if not rec["bytes"]:
            rec["first"] = tcp_info(s)
        rec["bytes"] += len(b)
    rec["last"] = tcp_info(s)
    s.close()
    print(json.dumps(rec), flush=True)


def main():
    if sys.argv[1] == "server":
        server(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        client(sys.argv[2], int(sys.argv[3]),
               int(sys.argv[4]) if len(sys.argv) > 4 else 0)


if __name__ == "__main__":
    main()
