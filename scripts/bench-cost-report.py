#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""bench-cost-report.py DATA MD [PREVIOUS_DATA]

Turns the records of scripts/bench-cost-guest.sh (one kernel's run) into
the markdown report of `make bench-cost`, written to MD, with its chart
next to it (MD's name ending in .png instead, where gnuplot works), and
prints one summary line. With PREVIOUS_DATA (an earlier run's records for the same
kernel), every headline number also gets its change against that run.

Every number is guest instructions (busy guest ns under QEMU's icount with
one vCPU). Per configuration and repeat, the marginal count is the
configuration's count less the baseline's ("drop": the same packets
dropped in raw PREROUTING, median over its repeats, measured in the same
module state; a second column uses the baseline without the module; the
gateway configurations' is "gw-drop", the packets dropped in the gateway),
divided by the packets; the tables show the median over the repeats and
their spread: (max - min) / median of the three repeats closest together.
"""
import os
import shutil
import statistics
import sys
import tempfile
import time

import bench_gnuplot


def records(path):
    """[(section, config, {key: value})] and the T lines, by name."""
    recs, text = [], {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "R":
                kv = {}
                for p in parts[3:]:
                    if "=" in p:
                        k, v = p.split("=", 1)
                        kv[k] = v
                recs.append((parts[1], parts[2], kv))
            elif len(parts) >= 2 and parts[0] == "T":
                text.setdefault(parts[1], []).append(line.rstrip("\n").split(" ", 2)[2]
                                                     if len(parts) > 2 else "")
    return recs, text


def num(kv, k):
    try:
        return int(kv[k])
    except (KeyError, ValueError):
        return None


class Run:
    def __init__(self, path):
        self.recs, self.text = records(path)
        self.info = {}
        for sec, _, kv in self.recs:
            if sec == "info":
                self.info.update(kv)

    def rows(self, sec, cfg, module=None):
        return [kv for s, c, kv in self.recs
                if s == sec and c == cfg and (module is None or kv.get("module") == module)]

    def base(self, sec, module="off", cfg="drop"):
        """Median count per packet of cfg's baseline (baseline_of), with
        the module loaded ("on") or not ("off")."""
        if sec == "ack":
            v = [num(kv, "base") / num(kv, "n") for s, _, kv in self.recs
                 if s == "ack" and kv.get("module") == module]
        else:
            v = [num(kv, "instr") / num(kv, "n")
                 for kv in self.rows(sec, baseline_of(cfg), module)]
        return statistics.median(v) if v else None

    def marginal(self, sec, cfg, module=None, base=None):
        """(median, spread, repeats) of the per-packet marginal counts of
        cfg (its rows with the module in state module, if given) over the
        baseline measured in state base, by default the rows' own."""
        rows = self.rows(sec, cfg, module)
        if not rows:
            return None
        b = self.base(sec, base or rows[0].get("module", "off"), cfg)
        if b is None:
            return None
        return summary([num(kv, "instr") / num(kv, "n") - b for kv in rows])

    def per_mb(self, cfg, module, direction):
        v = [num(kv, "instr") for kv in self.rows("mb", cfg, module)
             if kv.get("dir") == direction]
        return summary(v)


def baseline_of(cfg):
    """The configuration whose counts are cfg's baseline."""
    return "gw-drop" if cfg.startswith("gw-") else "drop"


def summary(v):
    """(median, spread, repeats): the spread of the three closest repeats
    (all of them, with fewer), as the guest's repeat rule has it; the
    median is over all."""
    if not v:
        return None
    m = statistics.median(v)
    s = sorted(v)
    w = min(3, len(s))
    best = min(s[i + w - 1] - s[i] for i in range(len(s) - w + 1))
    return m, (best / m if m > 0 else float("inf")), len(v)


def k(x):
    if x is None:
        return "—"
    return "%.2fk" % (x / 1000) if abs(x) < 1e6 else "%.2fM" % (x / 1e6)


def ratio(a, b):
    if a is None or b is None or b[0] <= 0:
        return "—"
    return "×%.2f" % (a[0] / b[0])


def pct(s):
    return "—" if s is None else "%.1f %%" % (s[1] * 100)


def change(cur, prev):
    if cur is None or prev is None or prev[0] == 0:
        return "—"
    return "%+.1f %%" % ((cur[0] / prev[0] - 1) * 100)


def profile_counts(run, cfg, total):
    """{symbol: instructions per SYN} from cfg's full profile and its
    total instructions per SYN."""
    out = {}
    for line in run.text.get("perfall-" + cfg, []):
        f = line.split()
        if len(f) < 3 or not f[0].endswith("%"):
            continue
        out[f[-1]] = out.get(f[-1], 0) + float(f[0][:-1]) / 100 * total
    return out


def marginal_symbols(run, top=30):
    """[(symbol, marginal, synguard's, drop's)] per SYN: the profiles of
    synguard's flood and the baseline's (module loaded) scaled by their
    total counts per SYN, the largest differences first."""
    tot = {}
    for cfg in ("synguard", "drop"):
        v = [num(kv, "instr") / num(kv, "n") for kv in run.rows("syn", cfg, "on")]
        if not v or not run.text.get("perfall-" + cfg):
            return None
        tot[cfg] = statistics.median(v)
    a = profile_counts(run, "synguard", tot["synguard"])
    b = profile_counts(run, "drop", tot["drop"])
    rows = [(s, a.get(s, 0) - b.get(s, 0), a.get(s, 0), b.get(s, 0)) for s in set(a) | set(b)]
    rows.sort(key=lambda r: -abs(r[1]))
    return rows[:top] if top else rows


def split_marginal(run):
    """(marginal, own, siphash, rest) instructions per answered SYN of
    synguard's flood: its marginal, the part its module's own functions
    took (their share of its profile; the baseline runs none of them),
    SipHash's (the profiles' difference), and what is left: the kernel's
    route, socket lookups and output path and the client receiving the
    SYN+ACK, which the SYN+ACK costs whoever builds it."""
    m = run.marginal("syn", "synguard")
    mod = run.text.get("perfmod-synguard")
    v = [num(kv, "instr") / num(kv, "n") for kv in run.rows("syn", "synguard", "on")]
    where = marginal_symbols(run, top=None)
    if not m or not mod or not v or where is None:
        return None
    try:
        own = float(mod[0]) / 100 * statistics.median(v)
    except ValueError:
        return None
    sip = sum(d for sym, d, _, _ in where if sym.startswith("siphash"))
    return m[0], own, sip, m[0] - own - sip


# The chart's bars: (config, label, colour).
CHART_BARS = (("kernel", "kernel\\nsyncookies=2", "#888888"),
              ("kernel-adaptive", "kernel\\nsyncookies=1", "#aaaaaa"),
              ("synproxy", "SYNPROXY", "#d62728"),
              ("synguard", "synguard\\nmode=2", "#1f77b4"),
              ("synguard-adaptive", "synguard\\nmode=1", "#6baed6"),
              ("synguard-flows", "synguard, flows\\nopen", "#9ecae1"))


def chart(run, png):
    """Marginal instructions per answered SYN, a bar per configuration;
    synguard's split into its own functions, SipHash and the kernel's part
    (split_marginal()); the goals as lines. False if it could not be
    drawn (no gnuplot: the report goes without)."""
    gp = shutil.which("gnuplot")
    bars = [(i, lab, col, run.marginal("syn", c)[0])
            for i, (c, lab, col) in enumerate(CHART_BARS) if run.marginal("syn", c)]
    kern, sp = run.marginal("syn", "kernel"), run.marginal("syn", "synproxy")
    parts = split_marginal(run)
    if not gp or not bars or not kern or not sp:
        return False
    tmp = tempfile.mkdtemp(prefix="bench-cost-report.")
    try:
        dat = os.path.join(tmp, "bars.dat")
        with open(dat, "w") as f:
            for i, _, col, v in bars:
                f.write("%d %.1f 0x%s\n" % (i, v / 1000, col[1:]))
        plots = ["'%s' using 1:2:3 with boxes fill solid 0.8 lc rgb variable notitle" % dat]
        if parts:
            # synguard's bar again, in layers from the top: its total is
            # the kernel's part, under it SipHash, under that its own code
            tot, own, sip, _ = parts
            i = [b[0] for b in bars if CHART_BARS[b[0]][0] == "synguard"]
            if i:
                lay = os.path.join(tmp, "layers.dat")
                with open(lay, "w") as f:
                    f.write("%d %.3f\n" % (i[0], (own + sip) / 1000))
                    f.write("\n\n%d %.3f\n" % (i[0], own / 1000))
                plots.append("NaN with boxes fill solid 0.8 lc rgb '#1f77b4' "
                             "title \"synguard: the kernel's route, lookups, output\"")
                plots.append("'%s' index 0 using 1:2 with boxes fill solid 0.9 "
                             "lc rgb '#ff7f0e' title 'synguard: SipHash'" % lay)
                plots.append("'%s' index 1 using 1:2 with boxes fill solid 0.9 "
                             "lc rgb '#2ca02c' title \"synguard's own functions\"" % lay)
        plots.append("%.3f with lines dt 2 lw 2 lc rgb '#444444' "
                     "title \"half the kernel's\"" % (kern[0] / 2000))
        plots.append("%.3f with lines dt 3 lw 2 lc rgb '#d62728' "
                     "title \"a third of SYNPROXY's\"" % (sp[0] / 3000))
        script = """
set terminal pngcairo size 900,520 font 'sans,11'
set output '%s'
set title "Marginal instructions per answered SYN, Linux %s (QEMU icount, 1 vCPU)"
set ylabel 'thousand instructions per SYN'
set style fill solid border -1
set boxwidth 0.6
set grid ytics
set xrange [-0.6:%d.6]
set yrange [0:%.1f]
set xtics (%s)
set key top right box opaque
set bmargin 4
plot %s
""" % (png, run.info.get("kernel", "?"), len(CHART_BARS) - 1,
            max(b[3] for b in bars) / 1000 * 1.6,
            ", ".join('"%s" %d' % (lab, i) for i, lab, _, _ in bars), ", ".join(plots))
        return bench_gnuplot.plot(gp, script, png, "bench-cost-report")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def goals(run, w, png=None):
    """Issue 10's goals, measured against this run, and the floor that
    the SYN+ACK's own way out sets."""
    sg = run.marginal("syn", "synguard")
    kern = run.marginal("syn", "kernel")
    sp = run.marginal("syn", "synproxy")
    if not sg or not kern or not sp:
        return
    rows = [("per answered SYN, ×0.50 the kernel's at most", sg[0] / kern[0], 0.50),
            ("per answered SYN, ×0.33 SYNPROXY's at most", sg[0] / sp[0], 0.33)]
    for d in ("up", "down"):
        a, b = run.per_mb("synguard", "on", d), run.per_mb("none", "off", d)
        if a and b:
            rows.append(("per relayed MiB (%s), ×1.05 none's at most" % d,
                         a[0] / b[0], 1.05))
    w("## The goals")
    w("")
    if png and chart(run, png):
        w("![marginal instructions per answered SYN](%s)" % os.path.basename(png))
        w("")
    w("| goal | measured | met |")
    w("|---|--:|---|")
    for name, r, lim in rows:
        w("| %s | ×%.3f | %s |" % (name, r, "yes" if r <= lim else "no"))
    w("")
    parts = split_marginal(run)
    if not parts:
        return
    tot, own, sip, rest = parts
    w("Of synguard's %s instructions per answered SYN, its module's own functions "
      "take %s (their share of the flood's profile), SipHash %s, and the other %s "
      "are the kernel's: the output route, the listener and socket lookups, the "
      "output path (LOCAL_OUT, POST_ROUTING, neighbour, qdisc, the veth) and the "
      "client namespace receiving the SYN+ACK, which the kernel's own reply costs "
      "too. A third of SYNPROXY's is %s, which would leave %s for synguard's own "
      "functions and SipHash together (%s now); half the kernel's %s: %s." % (
          k(tot), k(own), k(sip), k(rest), k(sp[0] / 3), k(sp[0] / 3 - rest),
          k(own + sip), k(kern[0] / 2),
          "reached" if tot <= kern[0] / 2 else
          "%s fewer, %.0f %% of synguard's own and SipHash's" % (
              k(tot - kern[0] / 2), 100 * (tot - kern[0] / 2) / (own + sip))))
    w("")


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    run = Run(sys.argv[1])
    prev = Run(sys.argv[3]) if len(sys.argv) == 4 else None
    krel = run.info.get("kernel", "?")
    out = []
    w = out.append
    w("# Instruction counts, Linux %s (%s)" % (krel, time.strftime("%Y-%m-%d")))
    w("")
    w("Guest instructions under QEMU `-icount shift=0,sleep=off`, one vCPU "
      "(`make bench-cost`). %s SYNs per flood (`synflood --opts full --seed %s`), "
      "%s handshakes per round, %s MiB per relay sample; repeats until the "
      "spread is under %.0f %% (at least %s, at most %s; spread: (max - min) / median "
      "of the three closest repeats, medians over all). *Marginal*: over the "
      "same packets dropped in raw PREROUTING of a server namespace (\"drop\"), "
      "measured in the same boot and module state. The module is loaded with "
      "mode=0 and has hooks only in the namespaces whose mode the synguard "
      "configurations set (before module 15e02c8: in every namespace, the "
      "client's too), so the marginal holds every instruction synguard adds to a "
      "packet's path, its hooks' parse of the SYN in PRE_ROUTING included; the "
      "loaded drop rows show what it costs a namespace that never turned it on. "
      "Source %s, module %s, %s CPU(s)." % (
          run.info.get("count", "?"), run.info.get("seed", "?"),
          run.info.get("acks", "?"), run.info.get("mib", "?"),
          int(run.info.get("spread_limit", "30")) / 10, run.info.get("min_reps", "?"),
          run.info.get("max_reps", "?"), run.info.get("source", "?"),
          run.info.get("module", "?"), run.info.get("cpus", "?")))
    w("")
    pcol = " | vs previous run" if prev else ""
    psep = "--:|" if prev else ""


    def table(sec, unit, rows, extra_head="", extra=None, refs=("kernel", "synproxy")):
        """The rows (config, module state, label) of a section: the marginal
        count, its ratios to the refs (kernel and synproxy), its spread;
        the baseline rows ("drop", "gw-drop") with the spread of their
        totals instead."""
        w("| config | %s marginal | ratio vs %s | ratio vs %s | spread (repeats) "
          "| over the baseline without the module%s%s |" % (unit, refs[0], refs[1],
                                                           extra_head, pcol))
        w("|---|--:|--:|--:|--:|--:|%s%s" % ("--:|" * extra_head.count("|"), psep))
        kern = run.marginal(sec, refs[0])
        sp = run.marginal(sec, refs[1])
        for cfg, mod, name in rows:
            recs = run.rows(sec, cfg, mod)
            if not recs:
                continue
            m = run.marginal(sec, cfg, mod)
            off = run.marginal(sec, cfg, mod, "off")
            # (no unloaded baseline in a run limited by --only: "—")
            cols = [name, k(m[0]), ratio(m, kern), ratio(m, sp), "%s (%d)" % (pct(m), m[2]),
                    "%s (%s)" % (k(off[0] if off else None), ratio(off, kern))]
            if cfg == baseline_of(cfg):
                # its spread: of the totals; its marginal: the module's hooks
                t = summary([num(kv, "instr") / num(kv, "n") for kv in recs])
                cols[1:6] = ["", "", "", "%s (%d)" % (pct(t), t[2]),
                             "—" if mod == "off" or not off else k(off[0])]
            if extra:
                cols += extra(cfg, recs)
            if prev and cfg == baseline_of(cfg):
                # the baseline's own change: of its totals
                p = summary([num(kv, "instr") / num(kv, "n")
                             for kv in prev.rows(sec, cfg, mod)])
                cols.append(change(summary([num(kv, "instr") / num(kv, "n") for kv in recs]), p))
            elif prev:
                cols.append(change(m, prev.marginal(sec, cfg, mod)))
            w("| " + " | ".join(cols) + " |")
        w("")

    both = ("drop", "off", "drop (baseline)"), ("drop", "on", "drop, synguard loaded (mode=0)")

    def syn_extra(cfg, recs):
        total = statistics.median(num(kv, "instr") / num(kv, "n") for kv in recs)
        answered = "%d/%d" % (sum(num(kv, "answered") or 0 for kv in recs),
                              sum(num(kv, "n") for kv in recs))
        if "synguard" in cfg:
            answered += ", synguard's %d" % sum(num(kv, "sg_cookies") or 0 for kv in recs)
        return [k(total), answered]

    w("## Per answered SYN")
    w("")
    table("syn", "instr/SYN", both + tuple((c, None, c) for c in (
        "kernel", "kernel-adaptive", "synproxy", "synguard", "synguard-adaptive",
        "synguard-flows")),
        " | total instr/SYN | answered", syn_extra)
    w("Baseline: %s instructions per SYN (generating, sending, receiving and dropping "
      "it). synguard-flows: mode=2 with %s relayed connections open through it, idle "
      "(as on a server that serves while flooded), where every packet is looked up in "
      "the flow table." % (k(run.base("syn")), run.info.get("flows", "some")))
    w("")

    if run.rows("syn", "gw-drop"):
        w("## Gateway: per answered SYN, forwarded to a server behind it")
        w("")
        w("The client side, a gateway namespace that forwards, and a server namespace "
          "behind it. gw-forward: the gateway only forwards, the server answers with its "
          "own cookies (`tcp_syncookies=2`); gw-synproxy: nft SYNPROXY in the gateway's "
          "FORWARD hook (SYNs notracked, conntrack); gw-synguard: synguard's relay on the "
          "gateway (`gateway=2`, mode=2), no rules, no conntrack. Marginal over the same "
          "SYNs dropped in the gateway's raw PREROUTING (\"gw-drop\"): %s instructions "
          "per SYN." % k(run.base("syn", cfg="gw-drop")))
        w("")
        table("syn", "instr/SYN", (
            ("gw-drop", "off", "gw-drop (baseline)"),
            ("gw-drop", "on", "gw-drop, synguard loaded (mode=0)"),
            ("gw-forward", None, "gw-forward"), ("gw-synproxy", None, "gw-synproxy"),
            ("gw-synguard", None, "gw-synguard")),
            " | total instr/SYN | answered", syn_extra, ("gw-forward", "gw-synproxy"))

    if any(s == "ack" for s, _, _ in run.recs):
        w("## Per validated cookie ACK and what follows it")
        w("")
        w("The third ACKs of a flood's handshakes (`scripts/bench-acks.py`), over the same "
          "ACKs dropped in raw PREROUTING. kernel: `tcp_syncookies=2`, a child socket in "
          "the accept queue; synproxy: the cookie check and SYNPROXY's handshake with the "
          "server through conntrack; synguard: the cookie check, the hand-off to the "
          "listener and its handshake. Baseline: %s instructions per ACK."
          % k(run.base("ack")))
        w("")
        table("ack", "instr/ACK", tuple((c, None, c) for c in ("kernel", "synproxy", "synguard")),
              " | completed", lambda cfg, recs: ["%d/%d" % (
                  sum(num(kv, "est") or 0 for kv in recs), sum(num(kv, "n") for kv in recs))])

    if any(s == "bogus" for s, _, _ in run.recs):
        w("## Per bogus ACK (random cookie)")
        w("")
        w("`synflood --mode ack --opts full`: synguard and SYNPROXY drop them, the kernel "
          "answers each with a RST.")
        w("")
        table("bogus", "instr/ACK", both[1:] + tuple((c, None, c) for c in (
            "kernel", "synproxy", "synguard")))

    # ----------------------------------------------------------------- MB
    def mb_table(rows, ref):
        """Per relayed MiB, up and down, of the rows (config, module state,
        label), against ref's."""
        w("| config | up instr/MiB | vs %s | spread | down instr/MiB | vs %s | spread%s |"
          % (ref, ref, " | up, down vs previous run" if prev else ""))
        w("|---|--:|--:|--:|--:|--:|--:|%s" % psep)
        nu = run.per_mb(ref, "off", "up")
        nd = run.per_mb(ref, "off", "down")
        for cfg, mod, name in rows:
            u = run.per_mb(cfg, mod, "up")
            d = run.per_mb(cfg, mod, "down")
            if u is None and d is None:
                continue
            cols = [name, k(u[0] if u else None), ratio(u, nu), pct(u),
                    k(d[0] if d else None), ratio(d, nd), pct(d)]
            if prev:
                cols.append("%s, %s" % (change(u, prev.per_mb(cfg, mod, "up")),
                                        change(d, prev.per_mb(cfg, mod, "down"))))
            w("| " + " | ".join(cols) + " |")
        w("")

    if run.rows("mb", "none"):
        w("## Per relayed MiB")
        w("")
        w("One iperf3 connection, the count of an (8 + %s) MiB transfer less an 8 MiB one, "
          "per MiB; up: client to listener, down: `-R`. Goal for synguard: ×1.05 of none "
          "at most." % run.info.get("mib", "?"))
        w("")
        mb_table((("none", "off", "none"), ("none", "on", "none, synguard loaded (mode=0)"),
                  ("synproxy", "off", "synproxy"), ("synguard", "on", "synguard (mode=2)")),
                 "none")
    if run.rows("mb", "gw-forward"):
        w("## Gateway: per relayed MiB")
        w("")
        w("The same transfers to the server behind the gateway: gw-forward only forwards, "
          "gw-synproxy tracks the connection in conntrack (SYNPROXY's sequence "
          "translation), gw-synguard relays it in its flow table.")
        w("")
        mb_table((("gw-forward", "off", "gw-forward"), ("gw-synproxy", "off", "gw-synproxy"),
                  ("gw-synguard", "on", "gw-synguard (gateway=2)")), "gw-forward")

    md = sys.argv[2]
    goals(run, w, (md[:-3] if md.endswith(".md") else md) + ".png")

    # ------------------------------------------------------------ profile
    for cfg in ("synguard", "synguard-flows", "kernel"):
        lines = run.text.get("perf-" + cfg)
        if not lines:
            continue
        mod = run.text.get("perfmod-" + cfg, ["?"])[0]
        w("## Profile: %s, SYN flood" % cfg)
        w("")
        w("`perf record -e cpu-clock -a` over one flood: samples by instructions. The "
          "generator (synflood, `[.]`) and the baseline's path are in it too%s." % (
              "; synguard's own functions: %s %%" % mod if cfg.startswith("synguard")
              else ""))
        w("")
        w("```")
        out.extend(lines)
        w("```")
        w("")
        own = run.text.get("perfown-" + cfg)
        if own:
            w("synguard's own functions, all of them:")
            w("")
            w("```")
            out.extend(own)
            w("```")
            w("")
    where = marginal_symbols(run)
    if where:
        w("## Where synguard's marginal instructions per SYN go")
        w("")
        w("Each symbol's share of the synguard profile times synguard's total "
          "instructions per SYN, less the same for the baseline's profile (drop, the "
          "module loaded): the symbols that differ most, in instructions per SYN "
          "(negative: fewer than the baseline spends there). One sample every 50000 "
          "instructions: a symbol's count is good to about ±10 (±25 with --quick).")
        w("")
        w("| symbol | instr/SYN | synguard | drop |")
        w("|---|--:|--:|--:|")
        for sym, d, a, b in where:
            w("| `%s` | %+.0f | %.0f | %.0f |" % (sym, d, a, b))
        w("")
    if run.text.get("dmesg"):
        w("## Kernel warnings")
        w("")
        w("```")
        out.extend(run.text["dmesg"])
        w("```")
        w("")

    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out).rstrip("\n") + "\n")
    sg = run.marginal("syn", "synguard")
    mb = run.per_mb("synguard", "on", "up")
    gsg = run.marginal("syn", "gw-synguard")
    print("%s: synguard %s instr/SYN marginal (%s kernel, %s synproxy), relay %s none; "
          "gateway %s instr/SYN (%s gw-synproxy), relay %s gw-forward" % (
              krel, k(sg[0] if sg else None), ratio(sg, run.marginal("syn", "kernel")),
              ratio(sg, run.marginal("syn", "synproxy")),
              ratio(mb, run.per_mb("none", "off", "up")), k(gsg[0] if gsg else None),
              ratio(gsg, run.marginal("syn", "gw-synproxy")),
              ratio(run.per_mb("gw-synguard", "on", "up"),
                    run.per_mb("gw-forward", "off", "up"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
