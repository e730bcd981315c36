#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""What the IP header of a listener's SYN+ACK says, for synguard's selftests.

  synack_probe.py servers
      Reads lines "ADDR PORT [OPTION=VALUE...]" on stdin; for each, forks a
      listener on ADDR:PORT with socket options set first, which accepts
      connections and closes them, and prints "listening PORT" once it
      listens (or "error PORT ..."). At the end of its input it stops them.
      Options: ttl (IP_TTL), tos (IP_TOS), hops (IPV6_UNICAST_HOPS), tclass
      (IPV6_TCLASS), minttl (IP_MINTTL), minhops (IPV6_MINHOPCOUNT),
      autolabel (IPV6_AUTOFLOWLABEL), mark (SO_MARK), prio (SO_PRIORITY),
      dev (SO_BINDTODEVICE), uid (create the socket as that user).

  synack_probe.py clients
      Reads lines "DEV ADDR PORT SPORT [OPTION=VALUE...]" on stdin; for
      each, connects from local port SPORT to ADDR:PORT while watching DEV
      for the SYN+ACK that answers it, and prints one line: "connected" or
      the error, then the first SYN+ACK's hop limit and TOS or traffic
      class, and for IPv6 whether it has a flow label, and if it is the
      SYN's ("ttl=64 tos=0x00 label=yes", "label=no", "label=reflected"),
      or "no-synack". Options: ttl, tos (of the client's own SYN, IP_TTL and
      IP_TOS or IPV6_UNICAST_HOPS and IPV6_TCLASS), timeout (seconds for
      connect(), default 3).

One process each for a whole test: a Python start is most of a probe's
time in a TCG guest.
"""
import ctypes
import os
import signal
import socket
import struct
import sys
import threading

ETH_P_ALL = 0x0003
IP_MINTTL = 21
IPV6_MINHOPCOUNT = 73
IPV6_AUTOFLOWLABEL = 70
PR_SET_PDEATHSIG = 1


def opts(args):
    return dict(a.split("=", 1) for a in args)


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def num(v):
    return int(v, 0)


def listener(addr, port, o):
    fam = family(addr)
    if "uid" in o:
        os.setresgid(num(o["uid"]), num(o["uid"]), num(o["uid"]))
        os.setresuid(num(o["uid"]), num(o["uid"]), num(o["uid"]))
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    v4, v6 = socket.IPPROTO_IP, socket.IPPROTO_IPV6
    table = {
        "ttl": (v4, socket.IP_TTL), "tos": (v4, socket.IP_TOS),
        "minttl": (v4, IP_MINTTL), "hops": (v6, socket.IPV6_UNICAST_HOPS),
        "tclass": (v6, socket.IPV6_TCLASS),
        "minhops": (v6, IPV6_MINHOPCOUNT),
        "autolabel": (v6, IPV6_AUTOFLOWLABEL),
        "mark": (socket.SOL_SOCKET, socket.SO_MARK),
        "prio": (socket.SOL_SOCKET, socket.SO_PRIORITY),
    }
    for k, v in o.items():
        if k in table:
            ls.setsockopt(*table[k], num(v))
    if "dev" in o:
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                      o["dev"].encode())
    ls.bind((addr, port))
    ls.listen(64)
    return ls


def accept_forever(ls):
    while True:
        c, _ = ls.accept()
        c.close()


def servers():
    kids = []
    for line in sys.stdin:
        args = line.split()
        if len(args) < 2:
            continue
        port = int(args[1])
        pid = os.fork()
        if pid == 0:
            # Gone with the parent, however it ends (a test's cleanup
            # kills it).
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
            if os.getppid() == 1:
                os._exit(1)
            try:
                ls = listener(args[0], port, opts(args[2:]))
            except OSError as e:
                print("error %d %s" % (port, e), flush=True)
                os._exit(1)
            print("listening %d" % port, flush=True)
            accept_forever(ls)
        kids.append(pid)
    for pid in kids:
        os.kill(pid, signal.SIGTERM)
        os.waitpid(pid, 0)


def tcp_header(frame):
    """(ttl, tos, IPv6 flow label or None, TCP header) of an Ethernet frame
    with a TCP segment, or None."""
    etype = struct.unpack_from("!H", frame, 12)[0]
    ip = frame[14:]
    if etype == 0x0800 and len(ip) >= 20 and ip[9] == 6:
        return ip[8], ip[1], None, ip[(ip[0] & 0xf) * 4:]
    if etype == 0x86dd and len(ip) >= 40 and ip[6] == 6:
        word = struct.unpack_from("!I", ip, 0)[0]
        return ip[7], (word >> 20) & 0xff, word & 0xfffff, ip[40:]
    return None


def segment(frame, src, dst, flags):
    """tcp_header() of a segment from port src to port dst with the SYN and
    ACK flags as flags says, else None."""
    h = tcp_header(frame)
    if not h or len(h[3]) < 14:
        return None
    ports = struct.unpack_from("!HH", h[3], 0)
    if ports != (src, dst) or h[3][13] & 0x12 != flags:
        return None
    return h


def describe(synack, syn):
    ttl, tos, label, _ = synack
    out = "ttl=%d tos=0x%02x" % (ttl, tos)
    if label is None:
        return out
    if not label:
        return out + " label=no"
    if syn and syn[2] == label:
        return out + " label=reflected"
    return out + " label=yes"


def client(dev, addr, port, sport, o):
    fam = family(addr)
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                        socket.htons(ETH_P_ALL))
    cap.bind((dev, 0))
    seen, syns = [], []
    done = threading.Event()

    def watch():
        # Past connect(), until the queue has been quiet for a moment.
        cap.settimeout(0.1)
        while not seen:
            try:
                frame, meta = cap.recvfrom(65536)
            except socket.timeout:
                if done.is_set():
                    break
                continue
            if meta[2] == socket.PACKET_OUTGOING:
                f = segment(frame, sport, port, 0x02)
                if f:
                    syns.append(f)
                continue
            f = segment(frame, port, sport, 0x12)
            if f:
                seen.append(f)

    t = threading.Thread(target=watch)
    t.start()
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET:
        lvl, ttl, tos = socket.IPPROTO_IP, socket.IP_TTL, socket.IP_TOS
    else:
        lvl, ttl = socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS
        tos = socket.IPV6_TCLASS
    if "ttl" in o:
        s.setsockopt(lvl, ttl, num(o["ttl"]))
    if "tos" in o:
        s.setsockopt(lvl, tos, num(o["tos"]))
    s.settimeout(float(o.get("timeout", "3")))
    s.bind(("::" if fam == socket.AF_INET6 else "0.0.0.0", sport))
    try:
        s.connect((addr, port))
        result = "connected"
    except OSError as e:
        result = type(e).__name__ if e.errno is None else \
            os.strerror(e.errno).replace(" ", "_")
    done.set()
    t.join()
    s.close()
    cap.close()
    if seen:
        print("%s %s" % (result, describe(seen[0], syns[0] if syns else None)),
              flush=True)
    else:
        print("%s no-synack" % result, flush=True)


def clients():
    for line in sys.stdin:
        a = line.split()
        if len(a) >= 4:
            client(a[0], a[1], int(a[2]), int(a[3]), opts(a[4:]))


def main():
    if sys.argv[1:] == ["servers"]:
        servers()
    elif sys.argv[1:] == ["clients"]:
        clients()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
