#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""An NFQUEUE reader that accepts every packet, as an inline IPS would.

nfq_accept.py QUEUE COUNTFILE: binds netfilter queue QUEUE (IPv4 and
IPv6), sets NF_ACCEPT on each packet it is given, and keeps the number of
packets seen so far in COUNTFILE (rewritten after each). The kernel runs
the hooks after the queue's, and the packet's way on, in this process's
system call (nf_reinject() from the verdict message): process context.
Netlink by hand, with the kernel's UAPI layouts (linux/netfilter/
nfnetlink_queue.h), so that the guest needs no libnetfilter_queue.
"""
import os
import socket
import struct
import sys

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
NFQNL_MSG_PACKET = 0
NFQNL_MSG_VERDICT = 1
NFQNL_MSG_CONFIG = 2
NFQA_PACKET_HDR = 1
NFQA_VERDICT_HDR = 2
NFQA_CFG_CMD = 1
NFQA_CFG_PARAMS = 2
NFQNL_CFG_CMD_BIND = 1
NFQNL_COPY_META = 1
NLM_F_REQUEST = 1
NLM_F_ACK = 4
NLMSG_ERROR = 2
NF_ACCEPT = 1


def align4(n):
    return (n + 3) & ~3


def attr(kind, payload):
    a = struct.pack("=HH", 4 + len(payload), kind) + payload
    return a + b"\0" * (align4(len(a)) - len(a))


def message(kind, flags, queue, payload, seq=0):
    # struct nfgenmsg: family, version, res_id (the queue, big endian).
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue))
    body += payload
    return struct.pack("=IHHII", 16 + len(body),
                       (NFNL_SUBSYS_QUEUE << 8) | kind, flags, seq, 0) + body


def attrs(buf):
    out = {}
    off = 0
    while off + 4 <= len(buf):
        alen, kind = struct.unpack_from("=HH", buf, off)
        if alen < 4:
            break
        out[kind & 0x7fff] = buf[off + 4:off + alen]
        off += align4(alen)
    return out


def config(sock, queue, payload, seq):
    sock.send(message(NFQNL_MSG_CONFIG, NLM_F_REQUEST | NLM_F_ACK, queue,
                      payload, seq))
    reply = sock.recv(65536)
    kind = struct.unpack_from("=H", reply, 4)[0]
    err = struct.unpack_from("=i", reply, 16)[0] if kind == NLMSG_ERROR else 0
    if err:
        sys.exit("nfq_accept: queue %d config: %s" % (queue, os.strerror(-err)))


def main():
    queue, countfile = int(sys.argv[1]), sys.argv[2]
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    config(sock, queue, attr(NFQA_CFG_CMD, struct.pack(
        "=BxH", NFQNL_CFG_CMD_BIND, 0)), 1)
    config(sock, queue, attr(NFQA_CFG_PARAMS, struct.pack(
        ">IB", 0, NFQNL_COPY_META)), 2)
    seen = 0
    with open(countfile + ".tmp", "w") as f:
        f.write("0\n")
    os.rename(countfile + ".tmp", countfile)
    while True:
        buf = sock.recv(65536)
        off = 0
        while off + 16 <= len(buf):
            mlen, kind = struct.unpack_from("=IH", buf, off)
            if mlen < 16:
                break
            if kind == (NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET:
                hdr = attrs(buf[off + 20:off + mlen]).get(NFQA_PACKET_HDR)
                if hdr:
                    pid = struct.unpack_from(">I", hdr)[0]
                    sock.send(message(NFQNL_MSG_VERDICT, NLM_F_REQUEST, queue,
                                      attr(NFQA_VERDICT_HDR, struct.pack(
                                          ">II", NF_ACCEPT, pid))))
                    seen += 1
                    with open(countfile + ".tmp", "w") as f:
                        f.write("%d\n" % seen)
                    os.rename(countfile + ".tmp", countfile)
            off += align4(mlen)


if __name__ == "__main__":
    main()
