#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""bench-report.py DATA MD [PNG] - render one kernel's benchmark records.

DATA holds the "R ..." and "T ..." lines scripts/bench-guest.sh printed
(the host's scripts/bench.sh saves them). Writes the Markdown report to MD
and, when PNG is given and gnuplot works, the chart of the legitimate
client's success ratio and connect latency against the flood rate.
Prints one summary line ("kernel ... synguard x1.23 ...") on stdout.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import bench_gnuplot

CONFIGS = ["none", "kernel", "kernel-adaptive", "synproxy", "synguard",
           "synguard-adaptive", "gw-forward", "gw-synproxy", "gw-synguard"]
GATEWAYS = ["gw-forward", "gw-synproxy", "gw-synguard"]
SETUP = {
    "none": "`tcp_syncookies=0`",
    "kernel": "`tcp_syncookies=2`",
    "kernel-adaptive": "`tcp_syncookies=1`",
    "synproxy": "nft SYNPROXY",
    "synguard": "synguard `mode=2`",
    "synguard-adaptive": "synguard `mode=1`",
    "gw-forward": "gateway forwards; server `tcp_syncookies=2`",
    "gw-synproxy": "nft SYNPROXY in the gateway's FORWARD; server `tcp_syncookies=1`",
    "gw-synguard": "synguard `gateway=2` on the gateway; server `tcp_syncookies=1`",
}
STEPS = ["0", "25", "50", "100", "max"]
USER_HZ = 100
COLORS = {"none": "#999999", "kernel": "#1f77b4", "kernel-adaptive": "#17becf",
          "synproxy": "#ff7f0e", "synguard": "#d62728",
          "synguard-adaptive": "#9467bd", "gw-forward": "#2ca02c",
          "gw-synproxy": "#8c564b", "gw-synguard": "#e377c2"}


def num(v):
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def parse(path):
    recs, text = [], {}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("R "):
                parts = line.split()
                r = {"section": parts[1], "config": parts[2]}
                for kv in parts[3:]:
                    if "=" in kv:
                        k, v = kv.split("=", 1)
                        r[k] = num(v)
                recs.append(r)
            elif line.startswith("T "):
                parts = line.split(" ", 2)
                text.setdefault(parts[1], []).append(parts[2] if len(parts) > 2 else "")
    return recs, text


def per_s(n, us):
    return n * 1e6 / us if us else 0.0


def fmt_rate(v):
    if v is None:
        return "—"
    if v >= 10000:
        return "%.1fk" % (v / 1000)
    if v >= 1000:
        return "%.2fk" % (v / 1000)
    return "%.0f" % v


def fmt_ratio(v):
    return "—" if v is None else "×%.2f" % v


def fmt_ms(v):
    if v in (None, "-"):
        return "—"
    v = float(v)
    return "%.0f" % v if v >= 100 else "%.1f" % v


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Report:
    def __init__(self, recs, text):
        self.recs, self.text = recs, text
        self.info = {}
        for r in recs:
            if r["section"] == "info":
                self.info.update({k: v for k, v in r.items() if k not in ("section", "config")})
        self.configs = [c for c in CONFIGS if any(r["config"] == c for r in recs)]

    def sel(self, section, config=None, **kw):
        out = []
        for r in self.recs:
            if r["section"] != section or (config and r["config"] != config):
                continue
            if all(str(r.get(k)) == str(v) for k, v in kw.items()):
                out.append(r)
        return out

    # ------------------------------------------------------ capacity
    def cap_rounds(self, c):
        return [r for r in self.sel("cap", c) if str(r.get("round")) != "xcheck"]

    def capacity(self, c):
        rs = self.cap_rounds(c)
        rate = median([per_s(r["rx"], r["us"]) for r in rs])
        cpu = median([r["c0"] * 1e6 / USER_HZ / r["rx"] if r["rx"] > r["tx"] / 2 else None
                      for r in rs])
        busy = median([100.0 * r["c0"] / (r["c0"] + r["i0"]) if r["c0"] + r["i0"] else None
                       for r in rs])
        offered = median([per_s(r["tx"], r["us"]) for r in rs])
        return rate, cpu, busy, offered, rs

    def round_ratios(self, c):
        """Per-round ratio of c's SYN+ACK rate to kernel's in the same round."""
        k = {str(r["round"]): per_s(r["rx"], r["us"]) for r in self.cap_rounds("kernel")}
        out = []
        for r in self.cap_rounds(c):
            kr = k.get(str(r["round"]))
            if kr:
                out.append(per_s(r["rx"], r["us"]) / kr)
        return out

    def who(self, r):
        parts = []
        for key, name in (("kc", "kernel"), ("sg", "synguard"), ("sp", "SYNPROXY")):
            if r.get(key, 0) > 0:
                parts.append(name)
        return "+".join(parts) if parts else "nobody"

    # -------------------------------------------------------- render
    def markdown(self, date, png_name):
        kernel = self.info.get("kernel", "?")
        L = []
        sat = self.info.get("saturation")
        L.append("# synguard benchmark: Linux %s, %s" % (kernel, date))
        L.append("")
        L.append("> **Read the ratios, not the absolute numbers.** This runs in a QEMU TCG "
                 "guest (2 vCPUs, `thread=single`: both vCPUs take turns on one host "
                 "core, emulated), where everything is one to two orders of magnitude "
                 "slower than on hardware, and the host may be busy with other work. "
                 "Every configuration is measured in the same boot with the same "
                 "traffic, and each figure is compared with `kernel` measured "
                 "alongside it.")
        L.append("")
        mod = self.info.get("module")
        src = self.info.get("source")
        L.append("Module: %s%s. Run took %s s. Saturation (median `kernel` capacity, "
                 "the base of the flood steps): %s SYN/s."
                 % (mod or "not built", (", source %s" % src) if src else "",
                    self.info.get("elapsed", "?"), fmt_rate(sat) if sat else "?"))
        L.append("")
        L += self.summary_md()
        L += self.capacity_md()
        L += self.service_md(png_name)
        L += self.relay_md()
        L += self.memory_md()
        L += self.xcheck_md()
        L += self.method_md()
        L += self.perf_md()
        dm = self.text.get("dmesg")
        if dm:
            L.append("## Kernel log warnings")
            L.append("")
            L.append("```")
            L += dm
            L.append("```")
            L.append("")
        errs = self.sel("error")
        if errs:
            L.append("## Errors")
            L.append("")
            for e in errs:
                L.append("- %s" % str(e.get("msg", "")).replace("_", " "))
            L.append("")
        return "\n".join(L) + "\n"

    def ratios(self):
        k = self.capacity("kernel")[0]
        out = {}
        for c in self.configs:
            r = self.capacity(c)[0]
            out[c] = (r / k) if (k and r is not None) else None
        return out

    def summary_line(self):
        k = self.capacity("kernel")
        parts = []
        for c in ("synguard", "synguard-adaptive", "synproxy", "kernel-adaptive"):
            if c not in self.configs:
                continue
            rate, cpu = self.capacity(c)[:2]
            parts.append("%s %s capacity, %s CPU/SYN" % (
                c, fmt_ratio(rate / k[0]) if (k[0] and rate is not None) else "—",
                fmt_ratio(cpu / k[1]) if (cpu and k[1]) else "—"))
        line = "%s vs kernel: %s" % (self.info.get("kernel", "?"), "; ".join(parts))
        gws = [c for c in GATEWAYS if c in self.configs]
        if gws:
            line += "; gateways, legit OK at full flood: %s" % ", ".join(
                "%s %s" % (c, self.ok_pct(c, "max")) for c in gws)
        return line

    def ok_pct(self, c, st):
        rs = self.sel("step", c, step=st)
        if not rs or "attempts" not in rs[0]:
            return "—"
        return "%d %%" % round(100.0 * rs[0]["ok"] / max(1, rs[0]["attempts"]))

    def summary_md(self):
        L = ["## Summary", ""]
        k = self.capacity("kernel")
        L.append("Against `kernel` (tcp_syncookies=2: %s SYN+ACK/s, %s µs of CPU 0 per "
                 "SYN in this guest). Capacity: SYN+ACKs per second at full flood, "
                 "median of the rounds (the per-round ratios in brackets show the "
                 "spread). CPU per SYN: CPU 0's busy time per SYN+ACK, which a busy "
                 "host disturbs less than the rate."
                 % (fmt_rate(k[0]), "%.1f" % k[1] if k[1] else "?"))
        L.append("")
        L.append("| config | capacity vs kernel | CPU per SYN vs kernel | legit OK at 100 % / full flood | relay Mbit/s, CPU/MB vs none |")
        L.append("|---|---|--:|--:|--:|")
        nb, nc = self.relay("none")[:2]
        for c in self.configs:
            rate, cpu = self.capacity(c)[:2]
            rr = self.round_ratios(c)
            rat = fmt_ratio(rate / k[0]) if (k[0] and rate is not None) else "—"
            if rr and c not in ("kernel", "none"):
                rat += " (%s)" % " ".join("%.2f" % x for x in rr)
            oks = [self.ok_pct(c, st) for st in ("100", "max")]
            rb, rc = self.relay(c)[:2]
            L.append("| %s | %s | %s | %s | %s, %s |" % (
                c, rat, fmt_ratio(cpu / k[1]) if (cpu and k[1]) else "—", " / ".join(oks),
                fmt_ratio(rb / nb) if (rb and nb) else "—",
                fmt_ratio(rc / nc) if (rc and nc) else "—"))
        L.append("")
        L += self.gateway_md()
        return L

    def gateway_md(self):
        """The three gateway rows against each other, in a few sentences."""
        gws = [c for c in GATEWAYS if c in self.configs]
        if not gws:
            return []
        L = ["**Gateways.** The `gw-*` rows put a forwarding namespace between "
             "the client side and a server namespace (client → gateway → server, "
             "the flood and the legitimate client addressed to the server through "
             "the gateway): `gw-forward` only forwards and the server answers with "
             "its own cookies (the unprotected gateway), `gw-synproxy` runs nft "
             "SYNPROXY in the gateway's FORWARD hook, `gw-synguard` synguard's "
             "relay (`gateway=2`) on the gateway; their servers have no "
             "protection of their own beyond `tcp_syncookies` (1 behind "
             "SYNPROXY and synguard). Their capacity is the gateway's and the "
             "server's work together, so compare them with each other (and "
             "with `gw-forward`) rather than with `kernel`."]
        fwd = self.capacity("gw-forward")[0] if "gw-forward" in gws else None
        parts = []
        for c in gws:
            rate = self.capacity(c)[0]
            mx = self.sel("step", c, step="max")
            mx = mx[0] if mx and mx[0].get("ok") else {}
            bps = self.relay(c)[0]
            parts.append("`%s` %s / %s OK (connect p50 %s ms, whole response p50 %s ms "
                         "at full flood), capacity %s SYN+ACK/s%s, relay %s Mbit/s" % (
                             c, self.ok_pct(c, "100"), self.ok_pct(c, "max"),
                             fmt_ms(mx.get("conn_p50")), fmt_ms(mx.get("http_p50")),
                             fmt_rate(rate),
                             (" (%s of gw-forward)" % fmt_ratio(rate / fwd))
                             if (fwd and rate is not None and c != "gw-forward") else "",
                             "%.0f" % (bps / 1e6) if bps else "—"))
        L.append("")
        L.append("In this run, legitimate success at 100 % / full flood: "
                 + "; ".join(parts) + ".")
        L.append("")
        return L

    def relay(self, c):
        """Best of the runs: iperf3 in these guests is bimodal (a run lands
        near the top rate or at half of it or less, for every configuration
        alike), so a median says more about luck than about the path."""
        rs = [r for r in self.sel("relay", c) if r.get("bytes")]
        bps = max([r["bps"] for r in rs]) if rs else None
        cpus = [(r["c0"] + r["c1"]) * 1000.0 / USER_HZ / (r["bytes"] / 1e6) for r in rs]
        cpu = min(cpus) if cpus else None
        return bps, cpu, rs

    def capacity_md(self):
        L = ["## 1. Capacity", ""]
        L.append("The flood at full speed for %s s, %s rounds taken in turns with the "
                 "other configurations; medians. *SYN+ACK/s*: replies that left the "
                 "server (its veth's counter). *CPU 0 µs/SYN*: busy time of the server's "
                 "CPU (`/proc/stat` user+system+irq+softirq) per SYN+ACK. *offered*: "
                 "SYNs the veth delivered to the server per second (the generator is "
                 "slowed by the server: its socket buffer fills). A sample during "
                 "which the guest ran less than 80 %% of the time (the host busy with "
                 "other work) was taken again, up to 3 times (%d repeats in this run)."
                 % (self.info.get("cap_secs", "?"), self.info.get("rounds", "?"),
                    sum(int(r.get("tries", 1)) - 1 for r in self.sel("cap"))))
        L.append("")
        L.append("| config | setup | SYN+ACK/s | vs kernel | CPU 0 µs/SYN | vs kernel | CPU 0 busy | offered SYN/s | answered by |")
        L.append("|---|---|--:|--:|--:|--:|--:|--:|---|")
        kr, kcpu = self.capacity("kernel")[:2]
        for c in self.configs:
            rate, cpu, busy, offered, rs = self.capacity(c)
            who = self.who(rs[-1]) if rs else "—"
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                c, SETUP[c], fmt_rate(rate),
                fmt_ratio(rate / kr) if (kr and rate is not None) else "—",
                "%.1f" % cpu if cpu else "—",
                fmt_ratio(cpu / kcpu) if (kcpu and cpu) else "—",
                "%.0f %%" % busy if busy is not None else "—",
                fmt_rate(offered), who))
        sink = [per_s(r["tx"], r["us"]) for r in self.sel("cap", "sink")]
        if sink:
            L.append("| *sink* | tc ingress drop | — | — | — | — | — | %s | — |"
                     % fmt_rate(median(sink)))
        L.append("")
        L.append("*sink* shows how fast the generator alone can go here: under TCG "
                 "`thread=single` both vCPUs share one host core, so the generator's "
                 "own cost (%s SYN/s when nothing answers) is part of every rate above "
                 "and dilutes the differences between configurations; the CPU 0 "
                 "µs/SYN column is closer to the server's own cost, but counts the time "
                 "CPU 0 waits while the other vCPU runs." % fmt_rate(median(sink)))
        L.append("")
        return L

    def step_cell(self, r):
        if not r or "attempts" not in r:
            return "—"
        ok, att = r["ok"], r["attempts"]
        pct = 100.0 * ok / att if att else 0
        mark = " †" if r.get("run", 100) < 80 else ""
        if ok == 0:
            return "**0 %%**%s" % mark
        return "%.0f %% · %s / %s%s" % (pct, fmt_ms(r.get("conn_p50")), fmt_ms(r.get("conn_p99")),
                                        mark)

    def service_md(self, png_name):
        L = ["## 2. Service under flood", ""]
        L.append("A legitimate client opens %s connections/s for %s s (a fixed "
                 "schedule) and fetches %s bytes over HTTP/1.0; an attempt succeeds "
                 "if the whole response arrives within %s s (one SYN retransmission "
                 "fits). Flood steps are %% of the saturation rate (%s SYN/s, the "
                 "median `kernel` capacity), *max* is the generator at full speed. "
                 "Cells: success · connect p50 / p99 in ms."
                 % (self.info.get("legit_rate", "?"), self.info.get("step_secs", "?"),
                    self.info.get("body", "?"), self.info.get("legit_timeout", "?"),
                    fmt_rate(self.info.get("saturation"))))
        L.append("")
        L.append("| config | no flood | 25 % | 50 % | 100 % | max |")
        L.append("|---|---|---|---|---|---|")
        for c in self.configs:
            cells = []
            for s in STEPS:
                rs = self.sel("step", c, step=s)
                cells.append(self.step_cell(rs[0] if rs else None))
            L.append("| %s | %s |" % (c, " | ".join(cells)))
        L.append("")
        if any(r.get("run", 100) < 80 for r in self.sel("step")):
            L.append("† the host was busy during this sample, and during its one repeat "
                     "(the guest ran less than 80 % of the time): its latencies are "
                     "inflated.")
            L.append("")
        L.append("Time to the last byte of the HTTP response, p50 / p99 ms (successful "
                 "attempts), and the flood rate the server actually received (SYN/s):")
        L.append("")
        L.append("| config | no flood | 25 % | 50 % | 100 % | max |")
        L.append("|---|---|---|---|---|---|")
        for c in self.configs:
            cells = []
            for s in STEPS:
                rs = self.sel("step", c, step=s)
                if not rs or "attempts" not in rs[0]:
                    cells.append("—")
                    continue
                r = rs[0]
                off = per_s(r["tx"], r["us"]) if s != "0" else None
                h = "%s / %s" % (fmt_ms(r.get("http_p50")), fmt_ms(r.get("http_p99"))) \
                    if r["ok"] else "—"
                cells.append(h + (" @ %s" % fmt_rate(off) if off is not None else ""))
            L.append("| %s | %s |" % (c, " | ".join(cells)))
        L.append("")
        fails = []
        for c in self.configs:
            for s in STEPS:
                for r in self.sel("step", c, step=s):
                    if r.get("fail") and str(r.get("why", "-")) != "-":
                        fails.append("%s@%s: %s" % (c, s, r["why"]))
        if fails:
            L.append("Why attempts failed: " + "; ".join(fails) + ".")
            L.append("")
        if png_name:
            L.append("![legitimate success and connect latency against flood rate](%s)"
                     % png_name)
            L.append("")
        return L

    def relay_md(self):
        L = ["## 3. Relay cost", ""]
        L.append("One iperf3 connection (client → server, %s s, best of %d runs taken "
                 "in turns: in these guests a run lands either near the top rate or "
                 "at half of it or less, whatever the configuration, so the best run "
                 "is the one that shows the path) opened through each "
                 "configuration, no flood. *CPU ms/MB*: busy time of both CPUs per MB "
                 "received. Only `synguard` (mode=2) relays this connection "
                 "(cookie handshake, then every segment translated); "
                 "`synguard-adaptive` is not engaged without a flood, so its "
                 "connection is the kernel's own; `synproxy` keeps conntrack and "
                 "sequence adjustment on it; the kernel configurations only change "
                 "the handshake. `synguard-adaptive` thus also shows what merely "
                 "loading the module costs (its hooks parse every packet, on both "
                 "ends here). Through a gateway: `gw-synguard` relays the "
                 "connection on the gateway (its own cookie handshake, then every "
                 "segment translated), `gw-synproxy` keeps conntrack and sequence "
                 "adjustment on the gateway, `gw-forward` only forwards." % (self.info.get("iperf_secs", "?"),
                                  max([1] + [int(r.get("round", 1)) for r in self.sel("relay")])))
        L.append("")
        L.append("| config | Mbit/s (best) | vs none | all runs, Mbit/s | CPU ms/MB (best) | vs none | handshake by |")
        L.append("|---|--:|--:|---|--:|--:|---|")
        bb, bc = self.relay("none")[:2]
        for c in self.configs:
            bps, cpu, rs = self.relay(c)
            if not rs:
                continue
            who = self.who(rs[0])
            L.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                c, "%.0f" % (bps / 1e6) if bps else "—",
                fmt_ratio(bps / bb) if (bb and bps) else "—",
                " ".join("%.0f" % (r["bps"] / 1e6) for r in rs),
                "%.1f" % cpu if cpu else "—", fmt_ratio(cpu / bc) if (cpu and bc) else "—",
                "listener" if who == "nobody" else who + " cookie"))
        L.append("")
        return L

    def memory_md(self):
        L = ["## 4. Memory", ""]
        n = self.info.get("mem_syns", "?")
        L.append("`/proc/meminfo` Slab before and after %s flood SYNs sent at full "
                 "speed (half a second after the last), the five slab caches whose "
                 "bytes moved most, and the state left behind (SYN-RECV sockets, or "
                 "synguard flows). Slab is system-wide: a few hundred kB of noise "
                 "from the rest of the guest is normal." % n)
        L.append("")
        L.append("| config | SYN+ACK/s over the run | Slab kB before → after | Δ kB | state left | top movers (kB) |")
        L.append("|---|--:|--:|--:|---|---|")
        for c in self.configs:
            rs = self.sel("mem", c)
            if not rs:
                continue
            r = rs[0]
            state = ("%s SYN-RECV" % r["synrecv"]) if "synrecv" in r else \
                ("%s flows" % r.get("flows", "?"))
            L.append("| %s | %s | %s → %s | %+d | %s | %s |" % (
                c, fmt_rate(per_s(r["rx"], r["us"])), r["slab0"], r["slab1"],
                r["slab1"] - r["slab0"], state,
                str(r.get("movers", "-")).replace(",", ", ")))
        L.append("")
        return L

    def xcheck_md(self):
        h = self.sel("xcheck", "kernel")
        s = [r for r in self.sel("cap", "kernel") if str(r.get("round")) == "xcheck"]
        if not h or not s:
            return []
        h, s = h[0], s[0]
        L = ["## Cross-check of the flood generator", ""]
        L.append("hping3 (`-S --flood --rand-source`) and synflood against `kernel`, "
                 "one after the other:")
        L.append("")
        L.append("| tool | delivered SYN/s (veth) | SYN+ACK/s | vs synflood | packets it says it sent |")
        L.append("|---|--:|--:|--:|--:|")
        base = per_s(s["rx"], s["us"])
        for name, r in (("hping3", h), ("synflood", s)):
            L.append("| %s | %s | %s | %s | %s |" % (
                name, fmt_rate(per_s(r["tx"], r["us"])), fmt_rate(per_s(r["rx"], r["us"])),
                fmt_ratio(per_s(r["rx"], r["us"]) / base) if base else "—",
                r.get("sent", "?")))
        L.append("")
        L.append("(Its own count covers its whole run, a little longer than the "
                 "measured window; hping3's random sources include martians the "
                 "server drops unanswered.) The flood steps' target rates against what "
                 "the server received are in section 2.")
        L.append("")
        return L

    def method_md(self):
        sp = self.sel("setup", "synproxy")
        spd = (" (`synproxy mss %s wscale %s timestamp sack-perm`, read from the "
               "server's own handshake)" % (sp[0].get("mss"), sp[0].get("wscale"))) if sp else ""
        gsp = self.sel("setup", "gw-synproxy")
        gspd = (" (`mss %s wscale %s`)" % (gsp[0].get("mss"), gsp[0].get("wscale"))) \
            if gsp else ""
        return ["## How this was measured", "",
                "- Client side = the guest's root namespace; one server namespace per "
                "configuration, each behind its own veth pair, all alive for the whole "
                "run; the configurations take turns. Listeners: backlog %s, "
                "`tcp_max_syn_backlog=4096`." % self.info.get("backlog", "?"),
                "- Flood: `selftests/tools/synflood` (spoofed sources in 10.99.0.0/16, "
                "mixed option sets) pinned to CPU 1. RPS on the server's veth moves "
                "its receive processing to CPU 0 (a veth receives on the sending "
                "CPU otherwise); the HTTP and iperf3 servers run on CPU 0, the "
                "legitimate client on CPU 1. Under TCG `thread=single` the two vCPUs "
                "still share one host core.",
                "- `synproxy`: nft, SYNs to the protected ports notracked in raw "
                "prerouting, `ct state invalid,untracked` → synproxy in input%s, "
                "`nf_conntrack_tcp_loose=0`." % spd,
                "- `synguard*` and `gw-synguard` are measured with the module loaded, "
                "the others with it unloaded (its hooks exist in every namespace once "
                "loaded); each measurement loads or unloads it at most once.",
                "- `gw-*`: the root namespace's veth leads to a gateway namespace "
                "(RPS on its side of that veth), which forwards (rp_filter off, no "
                "conntrack unless a rule needs it) to a server namespace behind a "
                "second veth; the server's HTTP and iperf3 listeners as above. "
                "`gw-synproxy`: the same nft rules as `synproxy`, the synproxy rule "
                "in the gateway's forward hook%s. `gw-synguard`: "
                "`gateway_prefixes` = the server's /24, `gateway=2`, `mode=2` in "
                "the gateway's namespace, `mode=0` in the server's. Synguard's and "
                "SYNPROXY's counters are the gateway's; the gateways are not in the "
                "memory phase." % gspd,
                ""]

    def perf_md(self):
        keys = [k for k in self.text if k.startswith("perf-")]
        mod = {k[8:]: v[0] for k, v in self.text.items() if k.startswith("perfmod-") and v}
        if not keys:
            return []
        L = ["## Where CPU 0's time goes at full flood", ""]
        L.append("`perf record -e cpu-clock -C 0` for the flood's duration, top "
                 "symbols (`perf report --sort sym`).")
        L.append("")
        for k in sorted(keys, key=lambda x: CONFIGS.index(x[5:]) if x[5:] in CONFIGS else 99):
            L.append("<details><summary>%s</summary>" % k[5:])
            L.append("")
            L.append("```")
            L += self.text[k]
            if k[5:].startswith("synguard") and mod.get(k[5:]):
                L.append("")
                L.append("in synguard's own functions: %s %% of the samples" % mod[k[5:]])
            L.append("```")
            L.append("")
            L.append("</details>")
            L.append("")
        return L

    # --------------------------------------------------------- chart
    def chart(self, png, date):
        """Two panels against the flood step (categorical x, each config
        nudged sideways so the bars stay apart): the share of legitimate
        connections completed, and their connect latency (p50, bar to p99)."""
        gp = shutil.which("gnuplot")
        if not gp:
            print("bench-report: no gnuplot: no chart", file=sys.stderr)
            return False
        sat = self.info.get("saturation") or 0
        labels = []
        for i, s in enumerate(STEPS):
            if s == "0":
                lab = "no flood"
            elif s == "max":
                lab = "full speed"
            else:
                # (gnuplot reads a tic label as a format: "%%" for "%")
                lab = s + " %%\\n" + fmt_rate(sat * int(s) / 100.0) + "/s"
            labels.append('"%s" %d' % (lab, i))
        tmp = tempfile.mkdtemp(prefix="bench-report.")
        try:
            plots_ok, plots_lat = [], []
            n = len(self.configs)
            for ci, c in enumerate(self.configs):
                off = (ci - (n - 1) / 2.0) * 0.06
                path = os.path.join(tmp, c + ".dat")
                with open(path, "w") as f:
                    for i, s in enumerate(STEPS):
                        rs = self.sel("step", c, step=s)
                        if not rs or "attempts" not in rs[0]:
                            continue
                        r = rs[0]
                        okp = 100.0 * r["ok"] / r["attempts"] if r["attempts"] else 0
                        p50 = r.get("conn_p50") if r["ok"] else "NaN"
                        p99 = r.get("conn_p99") if r["ok"] else "NaN"
                        f.write("%.3f %.1f %s %s\n" % (i + off, okp, p50, p99))
                col = COLORS[c]
                # the gateways: dashed lines, open squares
                sty = "dt 2 pt 4" if c in GATEWAYS else "pt 7"
                plots_ok.append("'%s' using 1:2 with linespoints lw 2 %s ps 1.3 "
                                "lc rgb '%s' title '%s'" % (path, sty, col, c))
                plots_lat.append("'%s' using 1:3:3:4 with yerrorlines lw 2 %s ps 1.3 "
                                 "lc rgb '%s' title '%s'" % (path, sty, col, c))
            term = "pngcairo size 1400,560 font 'sans,11'"
            probe = subprocess.run([gp, "-e", "set terminal pngcairo"], capture_output=True)
            if probe.returncode != 0 or probe.stderr:
                term = "png size 1400,560"
            script = """
set terminal %s
set output '%s'
set multiplot layout 1,2 title "synguard bench: Linux %s, %s. TCG guest: compare the configurations, not the absolute rates" margins 0.07,0.98,0.16,0.9 spacing 0.09
set grid
set xtics (%s)
set xrange [-0.4:%d.4]
set xlabel 'SYN flood (%% of the rate that saturates kernel syncookies)' offset 0,-1
unset key
set ylabel 'legitimate connections completed within %ss (%%)'
set yrange [-5:105]
plot %s
set key bottom right vertical reverse Left samplen 2 box opaque
set ylabel 'connect latency, ms (point: p50, bar: up to p99)'
set logscale y
set yrange [0.05:5000]
plot %s
unset multiplot
""" % (term, png, self.info.get("kernel", "?"), date, ", ".join(labels), len(STEPS) - 1,
                self.info.get("legit_timeout", "?"), ", ".join(plots_ok), ", ".join(plots_lat))
            return bench_gnuplot.plot(gp, script, png, "bench-report")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    data, md = sys.argv[1], sys.argv[2]
    png = sys.argv[3] if len(sys.argv) > 3 else None
    date = os.environ.get("BENCH_DATE", "")
    recs, text = parse(data)
    if not recs:
        print("bench-report: no records in %s" % data, file=sys.stderr)
        return 1
    rep = Report(recs, text)
    have_png = rep.chart(png, date) if png else False
    with open(md, "w") as f:
        f.write(rep.markdown(date, os.path.basename(png) if have_png else None))
    print(rep.summary_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
