#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""bench-acks.py - third ACKs for flood SYNs, for scripts/bench-cost-guest.sh.

  bench-acks.py --dev IF --server ADDR --port P --base ADDR

Completes the handshakes of spoofed SYNs (sent by synflood meanwhile) so
that the instructions the server spends on a valid cookie ACK, and on what
follows it (synguard's hand-off, the kernel's child socket, SYNPROXY's
connection to the server), can be counted apart from the SYNs'. It reads,
on IF (an AF_PACKET socket: it sees the SYNs leaving and the SYN+ACKs
arriving before the raw-table rule that drops them), the SYN+ACKs ADDR:P
sends to the flood's sources, and builds for each the ACK its client would
send: seq and ack from the SYN+ACK, the timestamp echoed, a tsval just
after the SYN's. It builds the same ACKs addressed to BASE as well, a
server namespace that drops them in raw PREROUTING: the baseline, sent
with the same code. Commands on stdin, one answer line each on stdout:

  collect    read what has arrived; answers "synacks=N"
  send real  send the N ACKs to ADDR; answers "sent=N"
  send base  send them to BASE instead; answers "sent=N"
  quit       exit

The sending loop is the only thing between the two counter reads of the
caller, so the interpreter's start-up and the packet building stay out of
the counts, and the baseline's loop costs what the real one does.
"""
import argparse
import ipaddress
import os
import select
import socket
import struct
import sys

# The selftests' checksum and option walk, one copy of each.
_SELFTESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "selftests")
sys.path[:0] = [_SELFTESTS, os.path.join(_SELFTESTS, "tools")]
from rawtcp import csum  # noqa: E402
from tcp_fuzz import parse_opts  # noqa: E402

ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
SO_RCVBUFFORCE = 33
TH_SYN, TH_ACK = 0x02, 0x10


def tsopt(tcp):
    """(tsval, tsecr) from a TCP header's options, or None."""
    for kind, body in parse_opts(tcp[20:(tcp[12] >> 4) * 4]):
        if kind == 8 and len(body) == 8:
            return struct.unpack("!II", body)
    return None


def ack_packet(src, dst, sport, dport, seq, ack, ts):
    """An IPv4 ACK, checksums included."""
    opts = b""
    if ts is not None:
        opts = b"\1\1\x08\x0a" + struct.pack("!II", *ts)
    hlen = 20 + len(opts)
    th = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (hlen // 4) << 4,
                     TH_ACK, 502, 0, 0) + opts
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(th))
    c = csum(pseudo + th)
    th = th[:16] + struct.pack("!H", c) + th[18:]
    ih = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(th), 1, 0x4000, 64,
                     6, 0, src, dst)
    ih = ih[:10] + struct.pack("!H", csum(ih)) + ih[12:]
    return ih + th


class Acks:
    def __init__(self, a):
        self.port = a.port
        self.server = ipaddress.ip_address(a.server).packed
        self.base = ipaddress.ip_address(a.base).packed
        self.addr = {"real": a.server, "base": a.base}
        self.cap = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                                 socket.htons(ETH_P_IP))
        # All of a flood's SYNs and SYN+ACKs wait here until "collect".
        self.cap.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 256 << 20)
        self.cap.bind((a.dev, ETH_P_IP))
        self.cap.setblocking(False)
        self.syns = {}		# (src, sport) -> tsval of the SYN
        self.synacks = []	# (client, cport, seq, ack, tsval of the SYN+ACK)
        self.pkts = {"real": [], "base": []}

    def drain(self):
        n = 0
        while True:
            try:
                data, addr = self.cap.recvfrom(256)
            except BlockingIOError:
                return n
            n += 1
            if len(data) < 40 or data[9] != 6:
                continue
            ihl = (data[0] & 15) * 4
            tcp = data[ihl:]
            if len(tcp) < 20:
                continue
            sport, dport, seq, ack = struct.unpack("!HHII", tcp[:12])
            flags = tcp[13] & 0x3F
            if addr[2] == PACKET_OUTGOING and flags == TH_SYN and \
                    data[16:20] == self.server and dport == self.port:
                ts = tsopt(tcp)
                self.syns[(data[12:16], sport)] = ts[0] if ts else None
            elif addr[2] != PACKET_OUTGOING and flags == TH_SYN | TH_ACK and \
                    data[12:16] == self.server and sport == self.port:
                ts = tsopt(tcp)
                self.synacks.append((data[16:20], dport, seq, ack,
                                     ts[0] if ts else None))

    def collect(self):
        # The flood is over when this is asked: read until a quiet 0.5 s.
        while True:
            self.drain()
            if not select.select([self.cap], [], [], 0.5)[0]:
                break
        for which, dst in (("real", self.server), ("base", self.base)):
            pkts = []
            for cli, cport, seq, ack, tsval in self.synacks:
                ts = None
                if tsval is not None:
                    mine = self.syns.get((cli, cport)) or 0
                    ts = ((mine + 1) & 0xFFFFFFFF, tsval)
                pkts.append(ack_packet(cli, dst, cport, self.port, ack,
                                       (seq + 1) & 0xFFFFFFFF, ts))
            self.pkts[which] = pkts
        return len(self.synacks)

    def send(self, which):
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        s.connect((self.addr[which], 0))
        send = s.send
        for p in self.pkts[which]:
            send(p)
        s.close()
        return len(self.pkts[which])


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dev", required=True)
    p.add_argument("--server", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--base", required=True)
    acks = Acks(p.parse_args())
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if cmd == ["collect"]:
            print("synacks=%d" % acks.collect(), flush=True)
        elif len(cmd) == 2 and cmd[0] == "send" and cmd[1] in ("real", "base"):
            print("sent=%d" % acks.send(cmd[1]), flush=True)
        elif cmd == ["quit"]:
            break
        else:
            print("error bad command", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
