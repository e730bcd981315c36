#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""rawtcp.py - one side of a TCP handshake, by hand, for the selftests.

Sends SYNs or a third ACK as raw IPv4/IPv6 packets on one interface
(AF_PACKET, so that nothing in the sending namespace reassembles or
rewrites them), optionally cut into fragments, and reads the SYN+ACKs that
come back. It never builds a socket: the sending kernel answers the
SYN+ACK with a RST, which is what a cookie's stateless handshake expects.

  rawtcp.py COMMON syn --seq N [--count K] [--frag B] [--timeout S]
      K SYNs (source ports SPORT..SPORT+K-1, ISN N, options MSS 1460,
      SACK-permitted, timestamps, window scale 7), then wait for a SYN+ACK
      to each; print "synack SPORT ISN TSVAL" per port (TSVAL "-" without
      timestamps). Exits 1 if some port got none.
      --at T sends the SYNs at wall-clock time T (seconds since 1970), not
      at once; --ack-after D then sends each port's third ACK D seconds
      after its SYN+ACK (the ack command's segment, tsecr echoing TSVAL),
      printing "acked SPORT" then: for handshakes timed to a second, which
      two start-ups of Python would blur.
  rawtcp.py COMMON ack --seq N --ack A [--tsecr T] [--synack] [--bad-csum]
                   [--frag B]
      One ACK from SPORT; with --tsecr, a timestamp option echoing T; with
      --synack a SYN+ACK (a server's answer, forged); with --bad-csum its
      TCP checksum off by one.

COMMON: --dev IF --dmac MAC --src ADDR --dst ADDR --sport P --dport P.
--frag B cuts the IP payload into pieces of B bytes (a multiple of 8):
IPv4 fragments, or IPv6 fragment extension headers.
"""
import argparse
import ipaddress
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
TH_SYN, TH_RST, TH_ACK = 0x02, 0x04, 0x10


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_segment(a, sport, seq, ack, flags, opts):
    """A TCP header with options and a correct checksum."""
    opts += b"\1" * (-len(opts) % 4)
    hlen = 20 + len(opts)
    th = struct.pack("!HHIIBBHHH", sport, a.dport, seq & 0xFFFFFFFF,
                     ack & 0xFFFFFFFF, (hlen // 4) << 4, flags, 64240, 0,
                     0) + opts
    src, dst = a.src.packed, a.dst.packed
    if a.dst.version == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(th))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(th), 6)
    c = csum(pseudo + th)
    return th[:16] + struct.pack("!H", c) + th[18:]


def ipv4_packets(a, payload, frag):
    ident = random.randrange(1, 0xFFFF)
    step = frag or len(payload)
    out = []
    for off in range(0, len(payload), step):
        chunk = payload[off:off + step]
        more = 0x2000 if off + step < len(payload) else 0
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(chunk), ident,
                        more | (off // 8), 64, 6, 0, a.src.packed,
                        a.dst.packed)
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        out.append(h + chunk)
    return out


def ipv6_packets(a, payload, frag):
    def hdr(nh, plen):
        return struct.pack("!IHBB16s16s", 6 << 28, plen, nh, 64,
                           a.src.packed, a.dst.packed)
    if not frag:
        return [hdr(6, len(payload)) + payload]
    ident = random.randrange(1, 1 << 32)
    out = []
    for off in range(0, len(payload), frag):
        chunk = payload[off:off + frag]
        more = 1 if off + frag < len(payload) else 0
        fh = struct.pack("!BBHI", 6, 0, off | more, ident)
        out.append(hdr(44, 8 + len(chunk)) + fh + chunk)
    return out


def send(a, sock, segment):
    if a.dst.version == 4:
        pkts, proto = ipv4_packets(a, segment, a.frag), ETH_P_IP
    else:
        pkts, proto = ipv6_packets(a, segment, a.frag), ETH_P_IPV6
    for p in pkts:
        sock.sendto(p, (a.dev, proto, 0, 0, a.dmac))


def parse_tcp(a, pkt):
    """(sport, dport, seq, ack, flags, tsval) of a TCP packet to us, or None."""
    if a.dst.version == 4:
        if len(pkt) < 20 or pkt[0] >> 4 != 4 or pkt[9] != 6:
            return None
        if pkt[12:16] != a.dst.packed or pkt[16:20] != a.src.packed:
            return None
        th = pkt[(pkt[0] & 15) * 4:]
    else:
        if len(pkt) < 40 or pkt[0] >> 4 != 6 or pkt[6] != 6:
            return None
        if pkt[8:24] != a.dst.packed or pkt[24:40] != a.src.packed:
            return None
        th = pkt[40:]
    if len(th) < 20:
        return None
    sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", th[:14])
    tsval = None
    opts, i = th[20:(off >> 4) * 4], 0
    while i < len(opts) and opts[i] != 0:
        if opts[i] == 1:
            i += 1
            continue
        if i + 1 >= len(opts) or opts[i + 1] < 2:
            break
        if opts[i] == 8 and opts[i + 1] == 10 and i + 10 <= len(opts):
            tsval = struct.unpack("!I", opts[i + 2:i + 6])[0]
        i += opts[i + 1]
    return sport, dport, seq, ack, flags, tsval


def cmd_syn(a, sock):
    ports = set(range(a.sport, a.sport + a.count))
    tsval = int(time.monotonic() * 1000) & 0xFFFFFFFF
    opts = (struct.pack("!BBH", 2, 4, 1460) + b"\4\2" +
            struct.pack("!BBII", 8, 10, tsval, 0) + b"\1\3\3\7")
    if a.at:
        time.sleep(max(0.0, a.at - time.time()))
        # Started too late to keep the appointment (a slow guest): say so.
        if time.time() - a.at > 0.5:
            print("late %.3f" % (time.time() - a.at), flush=True)
    for p in sorted(ports):
        send(a, sock, tcp_segment(a, p, a.seq, 0, TH_SYN, opts))
    deadline = time.monotonic() + a.timeout
    while ports:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            break
        pkt, addr = sock.recvfrom(65535)
        t = None if addr[2] == PACKET_OUTGOING else parse_tcp(a, pkt)
        if not t or t[0] != a.dport or t[1] not in ports:
            continue
        if t[4] & (TH_SYN | TH_ACK | TH_RST) != TH_SYN | TH_ACK or \
           t[3] != (a.seq + 1) & 0xFFFFFFFF:
            continue
        ports.discard(t[1])
        print("synack %d %d %s" % (t[1], t[2], "-" if t[5] is None else t[5]),
              flush=True)
        if a.ack_after is not None:
            third_ack(a, sock, t)
    for p in sorted(ports):
        print("none %d" % p, flush=True)
    return 1 if ports else 0


def third_ack(a, sock, synack):
    """The ACK for @synack (parse_tcp's tuple), a.ack_after seconds on."""
    time.sleep(a.ack_after)
    a.sport, a.ack, a.tsecr = synack[1], (synack[2] + 1) & 0xFFFFFFFF, synack[5]
    seq = a.seq
    a.seq = (seq + 1) & 0xFFFFFFFF
    cmd_ack(a, sock)
    a.seq = seq
    print("acked %d %.3f" % (synack[1], time.time()), flush=True)


def cmd_ack(a, sock):
    opts = b""
    if a.tsecr is not None:
        tsval = int(time.monotonic() * 1000) & 0xFFFFFFFF
        opts = b"\1\1" + struct.pack("!BBII", 8, 10, tsval, a.tsecr)
    flags = TH_ACK | (TH_SYN if a.synack else 0)
    seg = tcp_segment(a, a.sport, a.seq, a.ack, flags, opts)
    if a.bad_csum:
        # The low bit: never between 0x0000 and 0xffff, both a zero sum.
        seg = seg[:17] + bytes([seg[17] ^ 1]) + seg[18:]
    send(a, sock, seg)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dev", required=True)
    ap.add_argument("--dmac", required=True)
    ap.add_argument("--src", required=True, type=ipaddress.ip_address)
    ap.add_argument("--dst", required=True, type=ipaddress.ip_address)
    ap.add_argument("--sport", required=True, type=int)
    ap.add_argument("--dport", required=True, type=int)
    ap.add_argument("--frag", type=int, default=0)
    # (syn --ack-after sends its third ACK with cmd_ack() too.)
    ap.set_defaults(synack=False, bad_csum=False)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("syn")
    s.add_argument("--seq", required=True, type=int)
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--timeout", type=float, default=5)
    s.add_argument("--at", type=float, default=0)
    s.add_argument("--ack-after", type=float)
    k = sub.add_parser("ack")
    k.add_argument("--seq", required=True, type=int)
    k.add_argument("--ack", required=True, type=int)
    k.add_argument("--tsecr", type=int)
    k.add_argument("--synack", action="store_true")
    k.add_argument("--bad-csum", action="store_true")
    a = ap.parse_args()
    if a.src.version != a.dst.version or a.frag % 8 or a.frag < 0:
        ap.error("--src and --dst of one family; --frag a multiple of 8")
    a.dmac = bytes.fromhex(a.dmac.replace(":", ""))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM,
                         socket.htons(ETH_P_ALL))
    sock.bind((a.dev, ETH_P_ALL))
    return cmd_syn(a, sock) if a.cmd == "syn" else cmd_ack(a, sock)


if __name__ == "__main__":
    sys.exit(main())
