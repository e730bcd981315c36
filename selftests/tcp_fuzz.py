#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A packet fuzzer for synguard's selftests (standard library only).

  tcp_fuzz.py --dev DEV --client4 A --server4 B --client6 A6 --server6 B6
              --spoof4 10.0.9.0/24 --spoof6 fd00:10:0:9::/64
              --ports 7000,7001,8080 [--safe-ports 7000,8080]
              [--seed N] [--duration S] [--rate PPS] [--trace FILE]

Run as root in the client namespace; DEV is the client's link towards the
server. Everything it sends goes to --server4/--server6 only, from the
client's addresses or from the --spoof prefixes (the server routes those back
through DEV, and the client, not forwarding, drops them after the fuzzer has
seen them on its packet socket). Sent packets carry TTL / hop limit 61, so
the fuzzer never learns from its own copies.

What it sends, at most --rate packets (or fragment trains) per second:

  copy   mutated copies of the segments the client's kernel sends on live
         connections to --ports, learned with an AF_PACKET socket on DEV;
  own    segments on its own connections: handshakes it completes from a
         spoofed source against synguard's cookies (a mutated third ACK
         now and then), then data, ACKs, SACK, timestamps, flags, RST/FIN/SYN,
         near and far from the windows;
  syn    SYNs with odd flags, options and payloads, from spoofed sources;
  ack    ACKs and other segments for tuples nobody holds;
  icmp   ICMP/ICMPv6 errors (fragmentation needed, packet too big,
         unreachable, time exceeded, parameter problem) quoting the server's
         segments of live and own connections, with near, far and random
         quoted seqs and quotes cut anywhere;

each sent whole, behind IPv4 options, behind IPv6 extension headers
(hop-by-hop, destination options, routing types 0/2/random, atomic fragment
headers, truncated ones), or as IPv4/IPv6 fragments (tiny, out of order,
overlapping, duplicated, with one missing).

Connections to --safe-ports belong to transfers the test checks: their
copies are only mutated in ways after which the bare kernel keeps the byte
stream intact. Either the copy is far outside the windows (seq or ack moved
by 2^24 or more: dropped, or answered with a (challenge) ACK), or it keeps
the original seq, ack, timestamp option and a prefix of the original
payload and mutates only what cannot change the stream: the ACK/PSH/ECE/CWR
flags, other option bytes, SACK blocks with random edges, the window, the
checksum. No in-window RST, SYN, FIN, URG, payload or timestamp reaches
them, and their option space never shrinks (that would turn options into
payload). SYNs are never copied: a connection is learned from its first
segment after the SYN.

At the end it prints one JSON line of counts; with --trace, the last 8192
packets it sent (CLOCK_MONOTONIC time, kind, shape and hex) are written
there too.
"""
import argparse
import collections
import ipaddress
import json
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86dd
PACKET_HOST = 0
PACKET_OUTGOING = 4

FUZZ_TTL = 61
MAX_COPY = 1200		# payload bytes kept of a learned segment
MAX_LEARNED = 64	# live connections remembered
MAX_OWN = 24		# own connections open at once
MAX_DRAIN = 256		# learned packets read per loop
ACTIVE = 1.0		# s: a connection that sent since is active

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 16, 32, 64, 128
FAR = 1 << 24


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def pseudo(fam, src, dst, proto, length):
    if fam == 4:
        return struct.pack("!4s4sBBH", src, dst, 0, proto, length)
    return struct.pack("!16s16sI3xB", src, dst, length, proto)


def add32(a, b):
    return (a + b) & 0xffffffff


# ------------------------------------------------------------------ TCP

class Seg:
    """A TCP segment to build; fam 4/6, addresses packed."""

    def __init__(self, fam, src, dst, sport, dport, seq=0, ack=0, flags=ACK,
                 win=65535, opts=b"", data=b"", urp=0):
        self.fam, self.src, self.dst = fam, src, dst
        self.sport, self.dport = sport, dport
        self.seq, self.ack, self.flags = seq, ack, flags
        self.win, self.opts, self.data, self.urp = win, opts, data, urp
        self.doff = None	# None: from the options' length
        self.bad_csum = False

    def copy(self):
        c = Seg(self.fam, self.src, self.dst, self.sport, self.dport,
                self.seq, self.ack, self.flags, self.win, self.opts,
                self.data, self.urp)
        c.doff, c.bad_csum = self.doff, self.bad_csum
        return c

    def build(self):
        opts = self.opts[:40]
        opts += b"\x01" * (-len(opts) % 4)
        doff = self.doff if self.doff is not None else 5 + len(opts) // 4
        hdr = struct.pack("!HHIIBBHHH", self.sport, self.dport, self.seq,
                          self.ack, (doff & 15) << 4, self.flags & 0xff,
                          self.win & 0xffff, 0, self.urp & 0xffff)
        seg = hdr + opts + self.data
        c = csum(pseudo(self.fam, self.src, self.dst, 6, len(seg)) + seg)
        if self.bad_csum:
            c ^= 0x5a5a
        return seg[:16] + struct.pack("!H", c) + seg[18:]


def parse_opts(opts):
    """Options as (kind, body) pairs, stopping at EOL or a bad length."""
    out, i = [], 0
    while i < len(opts):
        kind = opts[i]
        if kind == 0:
            break
        if kind == 1:
            i += 1
            continue
        size = opts[i + 1] if i + 1 < len(opts) else 0
        if size < 2 or i + size > len(opts):
            break
        out.append((kind, opts[i + 2:i + size]))
        i += size
    return out


def ts_of(opts):
    for kind, body in parse_opts(opts):
        if kind == 8 and len(body) == 8:
            return struct.unpack("!II", body)
    return None


def opt_ts(tsval, tsecr):
    return b"\x01\x01" + struct.pack("!BBII", 8, 10, tsval, tsecr)


def opt_sack(blocks):
    body = b"".join(struct.pack("!II", a, b) for a, b in blocks)
    return b"\x01\x01" + struct.pack("!BB", 5, 2 + len(body)) + body


class Mutator:
    """Random options, flags, seqs; everything drawn from one PRNG."""

    MSS = (0, 1, 64, 88, 535, 536, 1220, 1440, 1460, 8960, 65495, 65535)
    ICMP4 = ((3, 0), (3, 1), (3, 2), (3, 3), (3, 4), (3, 4), (3, 4), (3, 9),
             (3, 13), (11, 0), (11, 1), (12, 0), (4, 0), (5, 1), (0, 0))
    ICMP6 = ((1, 0), (1, 1), (1, 3), (1, 4), (1, 5), (1, 6), (2, 0), (2, 0),
             (2, 0), (3, 0), (3, 1), (4, 0), (4, 1), (4, 2), (128, 0))
    MTUS = (0, 1, 68, 296, 552, 576, 1000, 1279, 1280, 1400, 1499, 1500,
            9000, 65535)

    def __init__(self, rng):
        self.r = rng

    def chance(self, p):
        return self.r.random() < p

    def u32(self):
        return self.r.getrandbits(32)

    def near(self, base, span):
        return add32(base, self.r.randint(-span, span))

    def far(self, base):
        """A value at least 2^24 away from base, either side."""
        return add32(base, self.r.choice((1, -1)) *
                     self.r.randint(FAR, (1 << 31) - 1))

    def seq_like(self, base, win=65535):
        pick = self.r.randrange(7)
        if pick == 0:
            return base
        if pick == 1:
            return add32(base, self.r.choice((-1, 1)))
        if pick == 2:
            return self.near(base, win)
        if pick == 3:
            return add32(base, self.r.choice((-1, 1)) * win)
        if pick == 4:
            return add32(base, 1 << 31)
        if pick == 5:
            return self.far(base)
        return self.u32()

    def flags(self):
        pick = self.r.randrange(5)
        if pick == 0:
            return self.r.getrandbits(8)
        if pick == 1:
            return self.r.choice((SYN, SYN | ACK, SYN | FIN, SYN | RST,
                                  SYN | URG, SYN | ECE | CWR, FIN, RST,
                                  RST | ACK, FIN | ACK, URG | ACK, 0,
                                  FIN | SYN | RST | PSH | ACK | URG))
        return ACK | self.r.choice((0, PSH, FIN, RST, URG, ECE, CWR, SYN))

    def option(self, ts=None, sack_base=None):
        """One option, well-formed or not."""
        r = self.r
        pick = r.randrange(16)
        if pick == 0:
            return struct.pack("!BBH", 2, 4, r.choice(self.MSS))
        if pick == 1:
            return struct.pack("!BBB", 3, 3, r.choice((0, 7, 14, 15, 255)))
        if pick == 2:
            return b"\x04\x02"
        if pick == 3:
            tsval, tsecr = ts or (self.u32(), self.u32())
            return struct.pack("!BBII", 8, 10, self.seq_like(tsval, 1000),
                               self.seq_like(tsecr, 1000))
        if pick == 4:
            base = sack_base if sack_base is not None else self.u32()
            blocks = []
            for _ in range(r.randint(0, 4)):
                a = self.seq_like(base)
                blocks.append((a, add32(a, r.choice((0, 1, 1448, 65535,
                                                     -1 & 0xffffffff)))))
            return opt_sack(blocks)[2:]
        if pick == 5:
            return bytes((19, 18)) + r.randbytes(16)	# TCP-MD5
        if pick == 6:
            return bytes((29, r.choice((4, 16, 20)))) + r.randbytes(14)
        if pick == 7:
            return bytes((30, r.randint(2, 20))) + r.randbytes(
                r.randint(0, 18))
        if pick == 8:
            return bytes((34, r.choice((2, 6, 10, 18)))) + r.randbytes(16)
        if pick == 9:
            return bytes((r.choice((2, 3, 4, 5, 8)),	# bad lengths
                          r.choice((0, 1, 40, 255))))
        if pick == 10:
            kind, size = r.randint(9, 255), r.randint(2, 12)
            return bytes((kind, size)) + r.randbytes(r.randint(0, 10))
        if pick == 11:
            return b"\x00" + r.randbytes(r.randint(0, 3))
        if pick == 12:
            return b"\x01" * r.randint(1, 4)
        if pick == 13:		# a length, no body
            return bytes((r.choice((2, 3, 8, 5)), r.randint(2, 10)))
        return r.randbytes(r.randint(1, 12))

    def options(self, ts=None, sack_base=None, syn=False):
        r = self.r
        if syn and self.chance(0.4):
            # a plausible SYN, one field odd now and then
            o = struct.pack("!BBH", 2, 4, r.choice(self.MSS))
            if self.chance(0.7):
                o += b"\x04\x02"
            if self.chance(0.7):
                o += struct.pack("!BBII", 8, 10, self.u32(), 0)
            if self.chance(0.7):
                o += struct.pack("!BBBB", 1, 3, 3, r.choice((0, 7, 14, 15)))
        else:
            o = b"".join(self.option(ts, sack_base)
                         for _ in range(r.randint(0, 5)))
        if self.chance(0.2):
            o = o[:r.randint(0, len(o))]	# cut anywhere
        return o[:40]

    def garble_keep_ts(self, opts, ts):
        """Safe-class options: other option bytes garbled, SACK blocks with
        random edges, the timestamp option (if any) kept as it was."""
        r = self.r
        pick = r.randrange(4)
        if pick == 0:
            extra = self.option()
        elif pick == 1:
            extra = opt_sack([(self.u32(), self.u32())
                              for _ in range(r.randint(1, 3))])[2:]
        elif pick == 2:
            kind = r.choice((19, 29, 30, 34, 2, 3, 4, r.randint(9, 255)))
            extra = bytes((kind, r.randint(2, 8))) + r.randbytes(6)
        else:
            extra = r.randbytes(r.randint(1, 8))
        keep = opt_ts(*ts) if ts else b""
        # the timestamp first, so that no garbage before it hides it, and
        # no second one behind it (Linux would take the last)
        out = (keep + extra)[:40]
        if sum(1 for k, b in parse_opts(out) if k == 8) != (1 if ts else 0):
            return keep
        return out


# ------------------------------------------------------------------ IP

class Wire:
    """IP headers, IPv6 extension headers, fragments; raw sockets out."""

    def __init__(self, rng, dev):
        self.r = rng
        self.s4 = socket.socket(socket.AF_INET, socket.SOCK_RAW,
                                socket.IPPROTO_RAW)
        self.s6 = socket.socket(socket.AF_INET6, socket.SOCK_RAW,
                                socket.IPPROTO_RAW)
        for s in (self.s4, self.s6):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE,
                         dev.encode())
            s.setblocking(False)
        self.trace = collections.deque(maxlen=8192)
        self.sent = self.errors = 0

    def ip4(self, src, dst, proto, payload, frag=0, ident=None, opts=b""):
        opts += b"\x01" * (-len(opts) % 4)
        ident = self.r.getrandbits(16) if ident is None else ident
        hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | (5 + len(opts) // 4), 0,
                          20 + len(opts) + len(payload), ident, frag,
                          FUZZ_TTL, proto, 0, src, dst) + opts
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return hdr + payload

    def ip6(self, src, dst, nh, payload):
        return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh,
                           FUZZ_TTL, src, dst) + payload

    def ip4_opts(self):
        r = self.r
        pick = r.randrange(5)
        if pick == 0:
            return b"\x01" * r.randint(1, 8)
        if pick == 1:
            return bytes((7, 11, 4)) + bytes(8)		# record route
        if pick == 2:
            return bytes((148, 4, 0, 0))			# router alert
        if pick == 3:
            return bytes((68, 12, 5, 0)) + bytes(8)	# timestamp
        return r.randbytes(r.randint(1, 12))

    def ext6(self, kind, nh, dst):
        """One extension header in front of next header nh."""
        r = self.r
        if kind == 43:		# routing: type 0 or 2 or other
            rtype = r.choice((0, 2, r.randint(3, 255)))
            left = r.choice((0, 0, 1))
            return struct.pack("!BBBB4x16s", nh, 2, rtype, left, dst)
        if kind == 44:		# atomic fragment
            return struct.pack("!BBHI", nh, 0, 0, r.getrandbits(32))
        # hop-by-hop (0) or destination options (60)
        pick = r.randrange(5)
        if pick == 0:
            opts = b"\x01\x04" + bytes(4)			# PadN
        elif pick == 1:
            opts = b"\x05\x02\x00\x00\x01\x00"	# router alert, PadN
        elif pick == 2:
            # unknown option, "skip" action
            opts = bytes((r.randint(0, 0x1f) | 0x18, 4)) + r.randbytes(4)
        elif pick == 3:
            # unknown option, discard / ICMP actions
            kind = r.choice((0x40, 0x80, 0xc0)) | 0x1e
            opts = bytes((kind, 4)) + bytes(4)
        else:
            opts = r.randbytes(6)
        # now and then, a length that claims more than there is
        length = r.randint(1, 30) if r.random() < 0.1 else 0
        return struct.pack("!BB", nh, length) + opts

    def with_ext6(self, proto, l4, dst):
        """A chain of extension headers before l4: (first nh, bytes)."""
        r = self.r
        kinds = []
        if r.random() < 0.5:
            kinds.append(0)		# hop-by-hop first, as it must be
        kinds += r.sample((60, 43, 44, 60), r.randint(0, 3))
        if r.random() < 0.1:
            r.shuffle(kinds)	# hop-by-hop out of place
        if not kinds:
            kinds = [60]
        nh, out = proto, l4
        for kind in reversed(kinds):
            out = self.ext6(kind, nh, dst) + out
            nh = kind
        return nh, out

    def fragments(self, body):
        """Cut body into fragment pieces, (offset, more, bytes): tiny ones,
        reordered, overlapping, duplicated, or with one missing."""
        r = self.r
        unit = 8 * r.choice((1, 1, 2, 3, 8))
        pieces = [[off, off + unit < len(body), body[off:off + unit]]
                  for off in range(0, len(body), unit)]
        if len(pieces) < 2:
            return [(0, False, body)]
        pick = r.randrange(6)
        if pick == 0:
            pieces.reverse()
        elif pick == 1:
            r.shuffle(pieces)
        elif pick == 2:
            i = r.randrange(1, len(pieces))
            o, m, c = pieces[i]
            pieces.insert(i, [o - 8, m, r.randbytes(8) + c])	# overlap
        elif pick == 3:
            pieces.append(r.choice(pieces))			# duplicate
        elif pick == 4 and len(pieces) > 2:
            del pieces[r.randrange(len(pieces))]			# missing
        return [tuple(p) for p in pieces]

    def send(self, kind, fam, src, dst, proto, l4, shape="plain"):
        """Send l4 (a whole TCP segment or ICMP message) from src to dst
        in the given shape: plain, ipopt (IPv4 options), ext (IPv6
        extension headers) or frag."""
        pkts = []
        if fam == 4:
            if shape == "frag":
                ident = self.r.getrandbits(16)
                for off, more, chunk in self.fragments(l4):
                    fo = (off // 8) | (0x2000 if more else 0)
                    pkts.append(self.ip4(src, dst, proto, chunk, fo, ident))
            elif shape == "ipopt":
                pkts.append(self.ip4(src, dst, proto, l4, 0x4000,
                                     opts=self.ip4_opts()[:40]))
            else:
                pkts.append(self.ip4(src, dst, proto, l4, 0x4000))
        elif shape == "frag":
            # extension headers before the fragment header (unfragmentable
            # part) or inside the fragmented part, now and then
            nh, pre, body = 44, b"", l4
            inner = proto
            if self.r.random() < 0.3:
                nh, pre = self.with_ext6(44, b"", dst)
            elif self.r.random() < 0.3:
                inner, body = self.with_ext6(proto, l4, dst)
            ident = self.r.getrandbits(32)
            for off, more, chunk in self.fragments(body):
                fh = struct.pack("!BBHI", inner, 0, off | int(more), ident)
                pkts.append(self.ip6(src, dst, nh, pre + fh + chunk))
        elif shape == "ext":
            nh, chain = self.with_ext6(proto, l4, dst)
            pkts.append(self.ip6(src, dst, nh, chain))
        else:
            pkts.append(self.ip6(src, dst, proto, l4))
        sock = self.s4 if fam == 4 else self.s6
        af = socket.AF_INET if fam == 4 else socket.AF_INET6
        addr = socket.inet_ntop(af, dst)
        for p in pkts:
            try:
                sock.sendto(p, (addr, 0))
                self.sent += 1
            except OSError:
                self.errors += 1	# ENOBUFS, EMSGSIZE, EINVAL: fine
            self.trace.append("%.3f %s %s %s" % (time.monotonic(), kind, shape, p.hex()))


# ------------------------------------------------------------- learning

class Conn:
    """What is known of one connection, from the client's side."""

    def __init__(self, key, safe):
        self.key, self.safe = key, safe
        self.out = None		# last client->server Seg (a copy)
        self.seen = 0.0		# when, time.monotonic()
        self.in_seq = None	# server's last seq and length
        self.in_len = 0


class Fuzzer:
    def __init__(self, a):
        self.a = a
        self.r = random.Random(a.seed)
        self.m = Mutator(self.r)
        self.w = Wire(self.r, a.dev)
        self.fams = {}
        for fam, c, s, sp in ((4, a.client4, a.server4, a.spoof4),
                              (6, a.client6, a.server6, a.spoof6)):
            if not s:
                continue
            af = socket.AF_INET if fam == 4 else socket.AF_INET6
            self.fams[fam] = {
                "af": af,
                "client": socket.inet_pton(af, c),
                "server": socket.inet_pton(af, s),
                "spoof": ipaddress.ip_network(sp),
            }
        self.ports = set(a.ports)
        self.safe_ports = set(a.safe_ports)
        self.live = collections.OrderedDict()	# learned connections
        self.own = collections.OrderedDict()	# own connections
        self.pending = {}			# own SYNs waiting for SYN+ACK
        self.count = collections.Counter()
        self.pkt = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                                 socket.htons(ETH_P_ALL))
        self.pkt.bind((a.dev, ETH_P_ALL))
        self.pkt.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.pkt.setblocking(False)

    # ---- addresses

    def spoof_addr(self, fam):
        net = self.fams[fam]["spoof"]
        host = self.r.randrange(1, min(net.num_addresses - 1, 1 << 16))
        return (net.network_address + host).packed

    def is_spoof(self, fam, addr):
        af = self.fams[fam]["af"]
        return ipaddress.ip_address(socket.inet_ntop(af, addr)) in \
            self.fams[fam]["spoof"]

    def pick_fam(self):
        return self.r.choice(sorted(self.fams))

    # ---- learning from DEV

    def parse(self, data, proto):
        """(fam, src, dst, tcp header fields, opts, payload) or None."""
        if proto == ETH_P_IP and len(data) >= 20 and data[0] >> 4 == 4:
            ihl = (data[0] & 15) * 4
            if data[9] != 6 or data[8] == FUZZ_TTL or \
                    struct.unpack("!H", data[6:8])[0] & 0x3fff:
                return None
            fam, src, dst = 4, data[12:16], data[16:20]
            tcp = data[ihl:struct.unpack("!H", data[2:4])[0]]
        elif proto == ETH_P_IPV6 and len(data) >= 40 and data[0] >> 4 == 6:
            if data[6] != 6 or data[7] == FUZZ_TTL:
                return None
            fam, src, dst = 6, data[8:24], data[24:40]
            tcp = data[40:40 + struct.unpack("!H", data[4:6])[0]]
        else:
            return None
        if fam not in self.fams or len(tcp) < 20:
            return None
        sport, dport, seq, ack, off, flags, win = \
            struct.unpack("!HHIIBBH", tcp[:16])
        doff = (off >> 4) * 4
        if doff < 20 or doff > len(tcp):
            return None
        seg = Seg(fam, src, dst, sport, dport, seq, ack, flags, win,
                  tcp[20:doff], tcp[doff:doff + MAX_COPY])
        seg.full_len = len(tcp) - doff
        return seg

    def drain(self):
        for _ in range(MAX_DRAIN):
            try:
                data, addr = self.pkt.recvfrom(65536)
            except BlockingIOError:
                return
            seg = self.parse(data, addr[1])
            if seg:
                self.learn(seg, addr[2])

    def learn(self, seg, pkttype):
        f = self.fams[seg.fam]
        if pkttype == PACKET_OUTGOING and seg.src == f["client"] and \
                seg.dst == f["server"] and seg.dport in self.ports:
            key = (seg.fam, seg.sport, seg.dport)
            if seg.flags & SYN:
                # a new connection on the tuple: forget the old one, and
                # copy nothing of a handshake (a copy quoting the SYN's seq
                # in an ICMP error the server sends back, e.g. parameter
                # problem for an IPv6 option, aborts the client's connect)
                self.live.pop(key, None)
                return
            c = self.live.get(key)
            if c is None:
                c = self.live[key] = Conn(key, seg.dport in self.safe_ports)
                self.count["learned"] += 1
                while len(self.live) > MAX_LEARNED:
                    self.live.popitem(last=False)
            self.live.move_to_end(key)
            c.out, c.seen = seg, time.monotonic()
            if seg.flags & RST:
                del self.live[key]
        elif pkttype == PACKET_HOST and seg.src == f["server"] and \
                seg.sport in self.ports:
            if seg.dst == f["client"]:
                c = self.live.get((seg.fam, seg.dport, seg.sport))
                if c:
                    c.in_seq, c.in_len = seg.seq, seg.full_len
            elif self.is_spoof(seg.fam, seg.dst):
                self.learn_own(seg)

    # ---- own connections

    def learn_own(self, seg):
        key = (seg.fam, seg.dst, seg.dport, seg.sport)
        if seg.flags & (SYN | ACK) == SYN | ACK:
            syn = self.pending.pop(key, None)
            if syn is None:
                return
            self.count["synack"] += 1
            self.complete(key, syn, seg)
            return
        o = self.own.get(key)
        if o is None:
            return
        if seg.flags & RST:
            del self.own[key]
            self.count["own_reset"] += 1
            return
        end = add32(seg.seq, seg.full_len + (1 if seg.flags & FIN else 0))
        if ((end - o["rcv_nxt"]) & 0xffffffff) < (1 << 31):
            o["rcv_nxt"] = end
        ts = ts_of(seg.opts)
        if ts:
            o["ts_recent"] = ts[0]

    def complete(self, key, syn, synack):
        """Answer the cookie SYN+ACK: a proper third ACK, or a mutated one."""
        fam, src, sport, dport = key[0], key[1], key[2], key[3]
        ts = ts_of(synack.opts)
        o = {"snd_nxt": add32(syn.seq, 1), "rcv_nxt": add32(synack.seq, 1),
             "ts_recent": ts[0] if ts else None,
             "tsval": self.r.getrandbits(32)}
        ack = self.own_seg(key, o, ACK)
        if self.m.chance(0.3):
            ack.data = self.r.randbytes(self.r.choice((1, 100, 1000)))
        if self.m.chance(0.25):
            self.mutate_full(ack, o["snd_nxt"], o["rcv_nxt"])
            self.count["third_ack_mutated"] += 1
            self.emit("own", ack)
            return
        self.emit("own", ack)
        if self.m.chance(0.1):
            self.emit("own", ack)		# the same ACK twice
        o["snd_nxt"] = add32(o["snd_nxt"], len(ack.data))
        self.own[key] = o
        self.count["own_open"] += 1
        while len(self.own) > MAX_OWN:
            old, oo = self.own.popitem(last=False)
            self.emit("own", self.own_seg(old, oo, RST | ACK))

    def own_seg(self, key, o, flags):
        fam, src, sport, dport = key
        f = self.fams[fam]
        opts = b""
        if o["ts_recent"] is not None:
            o["tsval"] = add32(o["tsval"], self.r.randint(0, 20))
            opts = opt_ts(o["tsval"], o["ts_recent"])
        return Seg(fam, src, f["server"], sport, dport, o["snd_nxt"],
                   o["rcv_nxt"], flags, self.r.choice((65535, 1024, 29200)),
                   opts)

    def gen_own(self):
        if not self.own:
            return self.gen_syn(open_own=True)
        key = self.r.choice(list(self.own))
        o = self.own[key]
        r = self.r
        pick = r.randrange(10)
        seg = self.own_seg(key, o, ACK)
        if pick <= 2:		# good data, which the echo server returns
            seg.flags |= PSH
            seg.data = r.randbytes(r.choice((1, 10, 536, 1000)))
            o["snd_nxt"] = add32(o["snd_nxt"], len(seg.data))
        elif pick == 3:		# an ACK with SACK blocks near the window
            edges = [self.m.near(o["rcv_nxt"], 5000)
                     for _ in range(r.randint(1, 3))]
            blocks = [(e, add32(e, r.randint(0, 3000))) for e in edges]
            seg.opts = (seg.opts + opt_sack(blocks))[:40]
        elif pick == 4:		# the end: RST, FIN or RST in window
            seg.flags = r.choice((RST, RST | ACK, FIN | ACK))
            if seg.flags & RST:
                seg.seq = self.m.near(o["snd_nxt"], 2000)
                if seg.seq == o["snd_nxt"]:
                    del self.own[key]
            else:
                o["snd_nxt"] = add32(o["snd_nxt"], 1)
        else:			# anything, near the windows
            self.mutate_full(seg, o["snd_nxt"], o["rcv_nxt"])
        self.emit("own", seg)
        return True

    # ---- generators

    def gen_syn(self, open_own=False):
        fam = self.pick_fam()
        f = self.fams[fam]
        r = self.r
        src, dport = f["client"], r.randint(1, 65535)
        if open_own or self.m.chance(0.8):
            src = self.spoof_addr(fam)
        if open_own or self.m.chance(0.8):
            dport = r.choice(sorted(self.ports))
        seg = Seg(fam, src, f["server"], r.randint(1024, 65535), dport,
                  self.m.u32(), 0, SYN, r.choice((0, 1, 512, 29200, 65535)))
        if open_own or self.m.chance(0.5):
            seg.opts = struct.pack("!BBH", 2, 4, r.choice((536, 1220, 1460)))
            if self.m.chance(0.7):
                seg.opts += b"\x04\x02" + struct.pack("!BBII", 8, 10,
                                                     self.m.u32(), 0)
            if self.m.chance(0.7):
                seg.opts += struct.pack("!BBBB", 1, 3, 3,
                                        r.choice((0, 7, 14)))
            if src != f["client"] and dport in self.ports:
                self.pending[(fam, src, seg.sport, dport)] = seg
                while len(self.pending) > 256:
                    self.pending.pop(next(iter(self.pending)))
        else:
            seg.opts = self.m.options(syn=True)
            seg.flags = r.choice((SYN, SYN, SYN | ECE | CWR, self.m.flags()))
            seg.ack = r.choice((0, self.m.u32()))
            if self.m.chance(0.15):
                seg.data = r.randbytes(r.randint(1, 200))
            if self.m.chance(0.1):
                seg.doff = r.randint(0, 15)
            if self.m.chance(0.05):
                seg.bad_csum = True
        self.emit("syn", seg)
        return True

    def gen_ack(self):
        fam = self.pick_fam()
        f = self.fams[fam]
        r = self.r
        src = self.spoof_addr(fam) if self.m.chance(0.7) else f["client"]
        seg = Seg(fam, src, f["server"], r.randint(1024, 65535),
                  r.choice(sorted(self.ports)), self.m.u32(), self.m.u32(),
                  self.m.flags(), r.getrandbits(16), self.m.options())
        if self.m.chance(0.3):
            seg.data = r.randbytes(r.randint(1, 300))
        if self.m.chance(0.1):
            seg.doff = r.randint(0, 15)
        self.emit("ack", seg)
        return True

    def mutate_full(self, seg, snd_nxt, rcv_nxt):
        """Anything goes: 1-3 mutations near or far from the windows."""
        r, m = self.r, self.m
        ts = ts_of(seg.opts)
        for _ in range(r.randint(1, 3)):
            pick = r.randrange(11)
            if pick == 0:
                seg.flags = m.flags()
            elif pick == 1:
                seg.seq = m.seq_like(snd_nxt)
            elif pick == 2:
                seg.ack = m.seq_like(rcv_nxt)
            elif pick == 3:
                seg.win = r.choice((0, 1, r.getrandbits(16)))
            elif pick == 4:
                seg.opts = m.options(ts, rcv_nxt)
            elif pick == 5:
                o = bytearray(seg.opts or b"\x01\x01\x01\x01")
                for _ in range(r.randint(1, 3)):
                    o[r.randrange(len(o))] = r.getrandbits(8)
                seg.opts = bytes(o)
            elif pick == 6:
                cut = seg.data[:r.randint(0, len(seg.data))]
                new = r.randbytes(r.randint(1, 1200))
                seg.data = r.choice((b"", cut, new))
            elif pick == 7:
                seg.flags |= URG
                seg.urp = r.choice((0, 1, len(seg.data), 0xffff))
            elif pick == 8:
                seg.doff = r.randint(0, 15)
            elif pick == 9:
                seg.bad_csum = True
            else:
                if ts:
                    seg.opts = opt_ts(m.seq_like(ts[0], 1000),
                                      m.seq_like(ts[1], 1000))
                else:
                    seg.opts += opt_ts(m.u32(), m.u32())

    def mutate_safe(self, seg):
        """For a checked transfer: nothing the bare kernel would let
        change its byte stream (see the module docstring)."""
        r, m = self.r, self.m
        ts = ts_of(seg.opts)
        if m.chance(0.4):
            # far from the windows; anything else may go with it
            if m.chance(0.5):
                seg.seq = m.far(seg.seq)
            else:
                seg.ack = m.far(seg.ack)
                seg.data = seg.data[:r.randint(0, len(seg.data))]
                seg.flags &= ~(SYN | RST | URG | FIN)
                if m.chance(0.5):
                    seg.opts = m.garble_keep_ts(seg.opts, ts)
                self.count["copy_safe_far_ack"] += 1
                return
            seq = seg.seq
            self.mutate_full(seg, seg.seq, seg.ack)
            seg.seq = m.far(seq)	# whatever mutate_full chose
            self.count["copy_safe_far_seq"] += 1
            return
        kept_fin = seg.flags & FIN
        seg.data = seg.data[:r.randint(0, len(seg.data))]
        seg.flags = ACK | r.choice((0, PSH, ECE, CWR, ECE | CWR))
        if kept_fin and len(seg.data) == seg.full_len:
            seg.flags |= FIN
        pick = r.randrange(4)
        if pick == 0:
            seg.opts = m.garble_keep_ts(seg.opts, ts)
        elif pick == 1:
            seg.win = r.getrandbits(16)
        elif pick == 2:
            seg.bad_csum = True
        else:
            # a header longer than the segment (never shorter: that would
            # turn option bytes into payload)
            seg.data = b""
            least = 6 + (min(len(seg.opts), 40) + 3) // 4
            if least <= 15:
                seg.doff = r.randint(least, 15)
            else:
                seg.bad_csum = True
        self.count["copy_safe_same"] += 1

    def gen_copy(self):
        live = [c for c in self.live.values() if c.out is not None]
        if not live:
            return self.gen_ack()
        # mostly connections still talking, now and then closed ones
        recent = time.monotonic() - ACTIVE
        active = [c for c in live if c.seen > recent]
        if active and self.m.chance(0.9):
            live = active
        # the checked transfers half of the time, however many victims
        safe = [c for c in live if c.safe]
        if safe and self.m.chance(0.5):
            live = safe
        c = self.r.choice(live)
        seg = c.out.copy()
        seg.full_len = c.out.full_len
        if c.safe:
            self.mutate_safe(seg)
        else:
            # half of the time at the seq the server expects next, where
            # an RST, a FIN or data is taken
            nxt = add32(seg.seq, seg.full_len)
            if self.m.chance(0.5):
                seg.seq = nxt
            self.mutate_full(seg, nxt, seg.ack)
            self.count["copy_full"] += 1
        self.emit("copy", seg)
        return True

    def gen_icmp(self):
        """An ICMP error quoting a server->client segment."""
        r, m = self.r, self.m
        quotes = [(c.key[0], self.fams[c.key[0]]["client"], c.key[1], c.key[2],
                   c.in_seq, c.in_len) for c in self.live.values()
                  if c.in_seq is not None]
        quotes += [(k[0], k[1], k[2], k[3], o["rcv_nxt"], 0)
                   for k, o in self.own.items()]
        if not quotes:
            return self.gen_ack()
        fam, caddr, cport, sport, seq, length = r.choice(quotes)
        f = self.fams[fam]
        qseq = r.choice((seq, seq, add32(seq, length), m.near(seq, 3000),
                         m.far(seq), m.u32()))
        q = Seg(fam, f["server"], caddr, sport, cport, qseq, m.u32(), ACK,
                65535, b"", r.randbytes(min(length, 64)))
        qtcp = q.build()
        if fam == 4:
            qip = self.w.ip4(f["server"], caddr, 6, qtcp, 0x4000)
            qip = qip[:8] + b"\x40" + qip[9:]	# TTL as the server sent it
            qip = qip[:r.choice((20, 24, 28, 40, len(qip)))]
            typ, code = r.choice(m.ICMP4)
            if (typ, code) == (3, 4):
                rest = struct.pack("!HH", 0, r.choice(m.MTUS))
            else:
                rest = struct.pack("!I", r.getrandbits(32) if typ == 12 else 0)
            msg = struct.pack("!BBH", typ, code, 0) + rest + qip
            msg = msg[:2] + struct.pack("!H", csum(msg)) + msg[4:]
            proto = 1
        else:
            qip = self.w.ip6(f["server"], caddr, 6, qtcp)
            qip = qip[:7] + b"\x40" + qip[8:]
            qip = qip[:r.choice((40, 44, 48, 60, len(qip)))]
            typ, code = r.choice(m.ICMP6)
            if typ == 2:
                rest = struct.pack("!I", r.choice(m.MTUS))
            elif typ == 4:
                rest = struct.pack("!I", r.randint(0, 80))
            else:
                rest = b"\0" * 4
            msg = struct.pack("!BBH", typ, code, 0) + rest + qip
            c = csum(pseudo(6, f["client"], f["server"], 58, len(msg)) + msg)
            msg = msg[:2] + struct.pack("!H", c) + msg[4:]
            proto = 58
        if m.chance(0.05):
            msg = msg[:2] + b"\xde\xad" + msg[4:]
        self.send_shaped("icmp", fam, f["client"], f["server"], proto, msg)
        return True

    # ---- out

    def emit(self, kind, seg):
        self.send_shaped(kind, seg.fam, seg.src, seg.dst, 6, seg.build())

    def send_shaped(self, kind, fam, src, dst, proto, l4):
        p = self.r.random()
        shape = "plain"
        if p < 0.1:
            shape = "frag"
        elif p < 0.2:
            shape = "ext" if fam == 6 else "ipopt"
        self.w.send(kind, fam, src, dst, proto, l4, shape)
        self.count[kind] += 1
        self.count["shape_" + shape] += 1

    def run(self):
        gens = ((self.gen_copy, 30), (self.gen_own, 22), (self.gen_syn, 16),
                (self.gen_ack, 10), (self.gen_icmp, 14))
        funcs = [g for g, _ in gens]
        weights = [w for _, w in gens]
        start = time.monotonic()
        end = start + self.a.duration
        interval = 1.0 / self.a.rate
        due = start
        while not STOP and time.monotonic() < end:
            now = time.monotonic()
            if now < due:
                select.select([self.pkt], [], [], min(due - now, 0.05))
                self.drain()
                continue
            self.drain()
            self.r.choices(funcs, weights)[0]()
            # no catching up after a stall: at most --rate on average
            due = max(due + interval, now - interval)
        self.count["sent_packets"] = self.w.sent
        self.count["send_errors"] = self.w.errors
        self.count["live_now"] = len(self.live)
        self.count["own_now"] = len(self.own)
        self.count["seconds"] = round(time.monotonic() - start, 1)
        # own connections do not outlive the run
        for key, o in list(self.own.items()):
            self.w.send("own", key[0], key[1], self.fams[key[0]]["server"], 6,
                        self.own_seg(key, o, RST | ACK).build())


STOP = False


def on_term(*_):
    global STOP
    STOP = True


def port_list(s):
    out = []
    for part in filter(None, s.split(",")):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dev", required=True)
    p.add_argument("--client4")
    p.add_argument("--server4")
    p.add_argument("--spoof4", default="10.0.9.0/24")
    p.add_argument("--client6")
    p.add_argument("--server6")
    p.add_argument("--spoof6", default="fd00:10:0:9::/64")
    p.add_argument("--ports", type=port_list, required=True)
    p.add_argument("--safe-ports", type=port_list, default=[])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--trace")
    a = p.parse_args()
    if not 0 < a.duration <= 86400 or not 0 < a.rate <= 100000:
        p.error("--duration in (0, 86400], --rate in (0, 100000]")
    if not (a.server4 and a.client4) and not (a.server6 and a.client6):
        p.error("need --client4/--server4 or --client6/--server6")
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    fz = Fuzzer(a)
    try:
        fz.run()
    finally:
        if a.trace:
            with open(a.trace, "w") as t:
                t.write("\n".join(fz.w.trace) + "\n")
        print(json.dumps(dict(sorted(fz.count.items()))), flush=True)


if __name__ == "__main__":
    sys.exit(main())
