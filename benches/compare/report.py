"""BENCHMARKS.md and its plots from a results folder of bench.py (issue 7).

    python3 benches/compare/report.py OUT [BENCHMARKS.md [PLOTS_DIR]]

Medians over the runs of each scenario and broker that completed without a failure;
every ratio is Switchyard (io_uring backend, the default) / the other broker, so a
throughput ratio over 1 and a latency ratio under 1 favour Switchyard. The plots are
hand-written SVG (no plotting library): per scenario, throughput bars, latency percentile
bars (log scale) and latency-by-percentile curves from the hdrhistogram percentiles that
switchyard-load writes into its JSON.
"""

import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib as lib  # noqa: E402

REF = "switchyard-uring"
COLOURS = {
    "switchyard-uring": "#1f77b4",
    "switchyard-portable": "#6baed6",
    "mosquitto": "#2ca02c",
    "rumqttd": "#ff7f0e",
    "rabbitmq": "#d62728",
}
GOALS = (
    "The goals of issue 7 on this 2-core machine: at least 2x Mosquitto's and 1.5x "
    "rumqttd's QoS 0 throughput, lower p99 latency than both at equal load (the open-loop "
    "scenario), and under 4 KiB of user-space memory per idle MQTT connection."
)


def load(out):
    with open(os.path.join(out, "environment.json")) as f:
        env = json.load(f)
    runs = []
    with open(os.path.join(out, "runs.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            r["result"] = lib.load_json(os.path.join(out, r["run"] + ".json"))
            runs.append(r)
    return env, runs


def problems(r, kind):
    res, bad = r["result"], []
    if res is None:
        return [f"no result (exit {r['exit']})"]
    bad += res.get("failures", [])[:3] if kind != "idle" else []
    if kind == "msg" and res["qos"] >= 1 and (res["lost"] or res["duplicated"]):
        bad.append(f"acknowledged messages: published {res['published']:,}, acked "
                   f"{res['acked']:,}, received {res['received']:,}: lost {res['lost']:,} "
                   f"(acknowledged ones {res['acked_lost']:,}), duplicated {res['duplicated']:,}")
    if kind == "rate" and res.get("errors"):
        bad.append(f"{res['errors']:,} failed handshakes: {'; '.join(res['failures'][:2])}")
    if kind == "idle" and (res["idle"]["connected"] == 0 or res["idle"]["bytes_per_conn"] is None):
        bad.append("no connection held: " + "; ".join(res.get("failures", [])[:2]))
    if not r["broker_alive"]:
        bad.append("the broker died")
    return bad


def summarise(env, runs):
    kinds = {s["name"]: s["kind"] for s in env["scenarios"]}
    table, notes = {}, []
    for s in env["scenarios"]:
        name, kind = s["name"], s["kind"]
        for b in env["brokers"]:
            rs = [r for r in runs if r["scenario"] == name and r["broker"] == b]
            if not rs:
                continue
            ok = [r for r in rs if not problems(r, kind)]
            for r in rs:
                for p in problems(r, kind):
                    notes.append(f"{name} / {b} / rep {r['rep']}: {p}")
            m = {"runs": f"{len(ok)}/{len(rs)}", "ok": ok}
            if ok:
                res = [r["result"] for r in ok]
                m["cpu"] = lib.median(r["broker_cpu_s"] for r in ok)
                m["rss"] = lib.median(r["broker_peak_rss_kib"] / 1024 for r in ok)
                m["gen"] = lib.median(x.get("generator_cpu_s") for x in res)
                m["others"] = lib.median(
                    max(r["machine_busy_s"] - r["broker_cpu_s"] - (r["result"].get("generator_cpu_s") or 0), 0)
                    for r in ok)
                if kind == "idle":
                    m["bpc"] = lib.median(x["idle"]["bytes_per_conn"] for x in res)
                    m["connected"] = min(x["idle"]["connected"] for x in res)
                    m["target"] = res[0]["idle"]["target"]
                    m["alive"] = min(x["idle"]["alive_after"] for x in res)
                    m["thr"] = lib.median(x["delivered_per_s"] for x in res)
                    reasons = [f for x in res for f in x.get("failures", [])]
                    m["why"] = reasons[0] if reasons else ""
                else:
                    m["thr"] = lib.median(x["delivered_per_s"] for x in res)
                    for k, key in (("p50", "p50"), ("p99", "p99"), ("p999", "p99_9")):
                        m[k] = lib.median(x["latency_us"][key] for x in res)
                    m["lost"] = lib.median(100.0 * x["lost"] / x["expected"] if x.get("expected") else 0.0
                                           for x in res)
                    got = lib.median(x.get("received", x.get("handshakes", 0)) for x in res) or 0
                    m["cpu_per"] = (m["cpu"] * 1e6 / got) if got else None
                    # The run whose throughput is the median's (or nearest): its percentiles
                    # and per-second counts go into the plots.
                    m["rep_run"] = min(ok, key=lambda r: abs(r["result"]["delivered_per_s"] - m["thr"]))
            table[(name, b)] = m
    return kinds, table, notes


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(x):
    return "n/a" if x is None else f"{x:.2f}"


def num(x, digits=0):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


# --- SVG ---------------------------------------------------------------------------------

def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def human(v):
    if v >= 1e6:
        return f"{v / 1e6:.1f}M"
    if v >= 1e3:
        return f"{v / 1e3:.0f}k"
    return f"{v:.0f}"


def micros(v):
    if v >= 1e6:
        return f"{v / 1e6:.1f} s"
    if v >= 1e3:
        return f"{v / 1e3:.1f} ms"
    return f"{v:.0f} µs"


def bars(x0, y0, w, h, items, title, fmt, log=False):
    """A bar chart: items = [(label, value, colour)], in a box at (x0, y0) of w x h."""
    import math
    s = [f'<text x="{x0 + w / 2}" y="{y0 - 8}" text-anchor="middle" font-weight="bold">{esc(title)}</text>']
    vals = [v for _, v, _ in items if v]
    if not vals:
        return "".join(s)
    top = max(vals)
    left, bottom = x0 + 10, y0 + h - 60
    s.append(f'<line x1="{left}" y1="{bottom}" x2="{x0 + w}" y2="{bottom}" stroke="black"/>')
    bw = (w - 20) / max(len(items), 1)
    lo = math.log10(max(min(vals), 1)) - 0.3 if log else 0
    hi = math.log10(max(top, 1)) + 0.1 if log else top * 1.1

    def height(v):
        if not v:
            return 0
        if log:
            return (bottom - y0 - 10) * (math.log10(max(v, 1)) - lo) / (hi - lo)
        return (bottom - y0 - 10) * v / hi

    for i, (label, v, colour) in enumerate(items):
        x = left + i * bw + bw * 0.15
        bh = height(v)
        s.append(f'<rect x="{x:.1f}" y="{bottom - bh:.1f}" width="{bw * 0.7:.1f}" height="{bh:.1f}" fill="{colour}"/>')
        s.append(f'<text x="{x + bw * 0.35:.1f}" y="{bottom - bh - 4:.1f}" text-anchor="middle" font-size="11">{esc(fmt(v) if v is not None else "n/a")}</text>')
        s.append(f'<text transform="translate({x + bw * 0.35:.1f},{bottom + 12}) rotate(25)" font-size="11">{esc(label)}</text>')
    return "".join(s)


def grouped_latency(x0, y0, w, h, rows, title):
    """Grouped bars of p50/p99/p99.9 per broker on a log scale: rows = [(broker, p50, p99, p999)]."""
    import math
    s = [f'<text x="{x0 + w / 2}" y="{y0 - 8}" text-anchor="middle" font-weight="bold">{esc(title)}</text>']
    vals = [v for r in rows for v in r[1:] if v]
    if not vals:
        return "".join(s)
    lo = math.floor(math.log10(max(min(vals), 1)))
    hi = max(math.ceil(math.log10(max(vals))), lo + 1)
    left, bottom = x0 + 50, y0 + h - 60
    top_y = y0 + 10

    def y(v):
        return bottom - (bottom - top_y) * (math.log10(max(v, 1)) - lo) / (hi - lo)

    for d in range(lo, hi + 1):
        yy = y(10 ** d)
        s.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{x0 + w}" y2="{yy:.1f}" stroke="#eeeeee"/>'
                 f'<text x="{left - 4}" y="{yy + 4:.1f}" text-anchor="end" font-size="11">{micros(10 ** d)}</text>')
    s.append(f'<line x1="{left}" y1="{bottom}" x2="{x0 + w}" y2="{bottom}" stroke="black"/>')
    gw = (x0 + w - left) / max(len(rows), 1)
    shades = ("1.0", "0.7", "0.45")
    for i, (b, *ps) in enumerate(rows):
        for j, v in enumerate(ps):
            if not v:
                continue
            x = left + i * gw + gw * 0.1 + j * gw * 0.27
            s.append(f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{gw * 0.25:.1f}" height="{bottom - y(v):.1f}" '
                     f'fill="{COLOURS.get(b, "#888")}" fill-opacity="{shades[j]}"/>')
        s.append(f'<text transform="translate({left + i * gw + gw * 0.3:.1f},{bottom + 12}) rotate(25)" font-size="11">{esc(b)}</text>')
    s.append(f'<text x="{x0 + w - 4}" y="{top_y + 4}" text-anchor="end" font-size="11">bars: p50, p99, p99.9 (darker = lower percentile)</text>')
    return "".join(s)


def curves(x0, y0, w, h, series, title):
    """Latency by percentile, one line per broker: series = [(broker, [(q, µs), ...])]."""
    import math
    s = [f'<text x="{x0 + w / 2}" y="{y0 - 8}" text-anchor="middle" font-weight="bold">{esc(title)}</text>']
    vals = [v for _, pts in series for _, v in pts if v]
    if not vals:
        return "".join(s)
    lo = math.floor(math.log10(max(min(vals), 1)))
    hi = max(math.ceil(math.log10(max(vals))), lo + 1)
    left, bottom, right = x0 + 50, y0 + h - 40, x0 + w - 150

    def xq(q):
        return left + (right - left) * -math.log10(max(1 - q, 1e-5)) / 5

    def y(v):
        return bottom - (bottom - y0 - 10) * (math.log10(max(v, 1)) - lo) / (hi - lo)

    for d in range(lo, hi + 1):
        yy = y(10 ** d)
        s.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{right}" y2="{yy:.1f}" stroke="#eeeeee"/>'
                 f'<text x="{left - 4}" y="{yy + 4:.1f}" text-anchor="end" font-size="11">{micros(10 ** d)}</text>')
    for q, label in ((0, "0%"), (0.9, "90%"), (0.99, "99%"), (0.999, "99.9%"), (0.9999, "99.99%"), (0.99999, "99.999%")):
        s.append(f'<line x1="{xq(q):.1f}" y1="{bottom}" x2="{xq(q):.1f}" y2="{y0 + 10}" stroke="#eeeeee"/>'
                 f'<text x="{xq(q):.1f}" y="{bottom + 14}" text-anchor="middle" font-size="11">{label}</text>')
    s.append(f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="black"/>'
             f'<text x="{(left + right) / 2}" y="{bottom + 30}" text-anchor="middle" font-size="11">percentile (log scale of 1/(1-q)); the last point is the max</text>')
    for i, (b, pts) in enumerate(series):
        if not pts:
            continue
        p = " ".join(f"{xq(q):.1f},{y(v):.1f}" for q, v in pts)
        c = COLOURS.get(b, "#888")
        s.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{p}"/>')
        s.append(f'<rect x="{right + 15}" y="{y0 + 10 + i * 18}" width="14" height="4" fill="{c}"/>'
                 f'<text x="{right + 34}" y="{y0 + 16 + i * 18}" font-size="11">{esc(b)}</text>')
    return "".join(s)


def svg_doc(w, h, body):
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
            f'font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>{body}</svg>\n')


def scenario_svg(name, kind, brokers, table, what):
    rows = [(b, table.get((name, b))) for b in brokers if table.get((name, b)) is not None]
    rows = [(b, m) for b, m in rows if m.get("ok")]
    if kind == "idle":
        body = f'<text x="450" y="20" text-anchor="middle" font-size="13">{esc(name)}: {esc(what[:100])}</text>'
        body += bars(40, 60, 820, 320, [(b, m.get("bpc"), COLOURS.get(b, "#888")) for b, m in rows],
                     "broker RSS per idle connection, bytes, log scale (goal for Switchyard: < 4,096)",
                     lambda v: f"{v:,.0f}", log=True)
        return svg_doc(900, 420, body)
    unit = "handshakes / s" if kind == "rate" else "delivered msg / s"
    body = f'<text x="550" y="20" text-anchor="middle" font-size="13">{esc(name)}: {esc(what[:150])}</text>'
    body += bars(20, 60, 480, 320, [(b, m["thr"], COLOURS.get(b, "#888")) for b, m in rows],
                 f"throughput ({unit}, median)", human)
    body += grouped_latency(540, 60, 540, 320, [(b, m["p50"], m["p99"], m["p999"]) for b, m in rows],
                            "latency percentiles (median of runs, log scale)")
    series = []
    for b, m in rows:
        pts = m["rep_run"]["result"].get("percentiles_us") or []
        series.append((b, [(q, v) for q, v in pts]))
    body += curves(20, 450, 1060, 330, series, "latency by percentile (the run with the median throughput)")
    return svg_doc(1100, 800, body)


# --- BENCHMARKS.md -----------------------------------------------------------------------

def write(out, md_path, plots_dir):
    env, runs = load(out)
    kinds, table, notes = summarise(env, runs)
    brokers = env["brokers"]
    os.makedirs(plots_dir, exist_ok=True)
    md_dir = os.path.dirname(os.path.abspath(md_path)) if md_path else plots_dir
    rel = os.path.relpath(plots_dir, md_dir)
    L = []
    L.append("# Benchmarks: Switchyard beside Mosquitto, rumqttd and RabbitMQ\n")
    L.append("Produced in one run by the command below (issue 7): every scenario against every "
             "broker that speaks its protocol, on loopback, on this machine, in the same run. "
             "The machine is shared (another engineer builds and tests on it), so absolute "
             "numbers move from run to run; the **ratios** of one run are what to compare. "
             "Do not edit by hand: run the command again.\n")
    L.append("```\n" + env["command"] + "\n```\n")
    v = env["versions"]
    L.append("| | |\n|---|---|")
    for k, val in [
        ("date", env["date"]),
        ("git commit", f"`{env['commit']}`"),
        ("settings", f"`{env['settings']}`"),
        ("run time", f"{env.get('run_minutes', '?')} minutes"),
        ("machine", f"{env['nproc']} cores ({env['cpu']}), {env['memory_gib']} GiB, Linux {env['kernel']}"),
        ("load average (1, 5, 15 min)", f"before {env['loadavg_before']}, after {env.get('loadavg_after', '?')}"),
        ("open files limit (soft, hard)", ", ".join(env["nofile"])),
        ("Switchyard", f"{v['switchyard']}, `--shards 2`, `--io-backend uring` and `portable`"),
        ("Mosquitto", v["mosquitto"]),
        ("rumqttd", v["rumqttd"]),
        ("RabbitMQ", v["rabbitmq"] + ", plugins rabbitmq_mqtt and rabbitmq_stomp"),
        ("load generator", "switchyard-load (benches/load), same machine, 64 B payloads"),
    ]:
        L.append(f"| {k} | {val} |")
    L.append("")
    L.append("**Reading the ratios.** Every ratio is **Switchyard (io_uring) / other broker**: "
             "throughput over 1 means Switchyard delivers more; a latency, CPU or memory ratio "
             "under 1 means Switchyard's is lower (better). The `switchyard-portable` row "
             "compares the io_uring backend with the portable (epoll) one the same way. "
             "Values are medians over the reps that completed without a failure (a broken "
             "connection, an acknowledged message lost or duplicated, the broker gone); "
             "failed runs are listed at the end. Broker CPU is user + system seconds of the "
             "broker process during the load run (warm-up and drain included); CPU µs/msg "
             "divides it by the messages delivered; peak RSS is the highest RSS sampled "
             "every 0.2 s during the run. RabbitMQ runs one fresh node per rep for all its "
             "scenarios of that rep (it takes 5-25 s to boot); every other broker is started "
             "fresh for every run. The generator shares the 2 cores with the broker.\n")

    # Where behind
    L.append("## Where Switchyard is behind\n")
    L.append(GOALS + "\n")
    behind = goals(kinds, table, brokers)
    L += [f"- {b}" for b in behind] if behind else ["- Nowhere: every goal met in this run."]
    L.append("")
    worse = []
    for (name, b), m in table.items():
        if b.startswith("switchyard") or not m.get("ok"):
            continue
        a = table.get((name, REF))
        if not a or not a.get("ok"):
            continue
        if kinds[name] == "idle":
            if a["bpc"] and m["bpc"] and a["bpc"] > m["bpc"]:
                worse.append(f"{name}: {b} uses less memory per idle connection ({m['bpc']:,.0f} B vs {a['bpc']:,.0f} B)")
            continue
        t = ratio(a["thr"], m["thr"])
        # Open loop: every broker delivers the offered rate; only latency compares.
        if t is not None and t < 0.98 and not name.endswith("-open"):
            worse.append(f"{name}: {b} has {1 / t:.2f}x Switchyard's throughput")
        p = ratio(a["p99"], m["p99"])
        if p is not None and p > 1:
            worse.append(f"{name}: {b}'s p99 is {p:.2f}x lower ({num(m['p99'])} µs vs {num(a['p99'])} µs)")
    if worse:
        L.append("Every place where another broker does better than Switchyard (io_uring) in this run:\n")
        L += [f"- {w}" for w in sorted(worse)]
        L.append("")

    # Per scenario
    L.append("## Scenarios\n")
    for s in env["scenarios"]:
        name, kind = s["name"], s["kind"]
        present = [b for b in brokers if (name, b) in table]
        if not present:
            continue
        L.append(f"### {name}\n")
        L.append(s["what"] + ".\n")
        L.append(f"`switchyard-load {s['args']}`" + ("" if kind == "idle" else " `--duration D --warmup W`") + "\n")
        ref = table.get((name, REF), {})
        if kind == "idle":
            L.append("| broker | connections held | bytes per connection | Switchyard / broker | connects/s while opening | broker CPU s | peak RSS MiB | runs ok |")
            L.append("|---|---:|---:|---:|---:|---:|---:|---|")
            for b in present:
                m = table[(name, b)]
                if not m.get("ok"):
                    L.append(f"| {b} | FAILED | | | | | | {m['runs']} |")
                    continue
                held = f"{m['connected']:,} of {m['target']:,}"
                if m["connected"] < m["target"]:
                    held += f" (stopped: {m['why'][:90]})"
                if m["alive"] < m["connected"]:
                    held += f"; {m['alive']:,} still open after the settle"
                L.append(f"| {b} | {held} | {num(m['bpc'])} | {fmt_ratio(ratio(ref.get('bpc'), m['bpc']))} | "
                         f"{num(m['thr'])} | {num(m['cpu'], 1)} | {num(m['rss'])} | {m['runs']} |")
            L.append("")
            L.append(env["idle_note"] + "\n")
        else:
            unit = "handshakes/s" if kind == "rate" else "msg/s"
            L.append(f"| broker | {unit} | p50 µs | p99 µs | p99.9 µs | lost % | broker CPU s | CPU µs/msg | peak RSS MiB | runs ok "
                     "| throughput S/b | p50 S/b | p99 S/b | p99.9 S/b | CPU/msg S/b |")
            L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
            for b in present:
                m = table[(name, b)]
                if not m.get("ok"):
                    L.append(f"| {b} | FAILED | | | | | | | | {m['runs']} | | | | | |")
                    continue
                rr = [ratio(ref.get("thr"), m["thr"])] + [ratio(ref.get(k), m[k]) for k in ("p50", "p99", "p999", "cpu_per")]
                L.append(f"| {b} | {num(m['thr'])} | {num(m['p50'])} | {num(m['p99'])} | {num(m['p999'])} | "
                         f"{num(m['lost'], 2)} | {num(m['cpu'], 1)} | {num(m['cpu_per'], 2)} | {num(m['rss'])} | {m['runs']} | "
                         + " | ".join(fmt_ratio(x) for x in rr) + " |")
            L.append("")
        svg = scenario_svg(name, kind, brokers, table, s["what"])
        with open(os.path.join(plots_dir, f"{name}.svg"), "w") as f:
            f.write(svg)
        L.append(f"![{name}]({rel}/{name}.svg)\n")
        # switchyard-load's own plot of Switchyard's median run.
        if ref.get("ok") and kind != "idle":
            src = os.path.join(out, ref["rep_run"]["run"] + ".svg")
            if os.path.exists(src):
                dst = f"{name}-switchyard-load.svg"
                shutil.copy(src, os.path.join(plots_dir, dst))
                L.append(f"switchyard-load's own plot of Switchyard's median run (`--svg`): [{dst}]({rel}/{dst})\n")
    if notes:
        L.append("## Failed runs (left out of the medians)\n")
        L += [f"- {n}" for n in notes]
        L.append("")
    L.append(f"Every run's JSON, table, plot and broker log were in `{os.path.relpath(out, lib.ROOT)}` "
             "(not committed).\n")
    text = "\n".join(L)
    if md_path:
        # Keep a hand-written profile section across regenerations.
        keep = ""
        if os.path.exists(md_path):
            old = open(md_path).read()
            at = old.find("\n## Profile of the worst case")
            if at >= 0:
                keep = old[at:]
        with open(md_path, "w") as f:
            f.write(text + keep)
        print(f"==> wrote {md_path} and the plots in {plots_dir}")
    else:
        print(text)


def goals(kinds, table, brokers):
    out = []

    def get(name, b):
        m = table.get((name, b))
        return m if m and m.get("ok") else None

    for name in [n for n in kinds if "qos0" in n]:
        a = get(name, REF)
        for peer, goal in (("mosquitto", 2.0), ("rumqttd", 1.5)):
            m = get(name, peer)
            if a and m:
                r = a["thr"] / m["thr"]
                if r < goal:
                    out.append(f"**{name}**: QoS 0 throughput {r:.2f}x {peer}'s (goal {goal}x): "
                               f"{a['thr']:,.0f} vs {m['thr']:,.0f} msg/s")
    for name in [n for n in kinds if n.endswith("-open") and n.startswith("mqtt")]:
        a = get(name, REF)
        for peer in ("mosquitto", "rumqttd"):
            m = get(name, peer)
            if a and m and a["p99"] >= m["p99"]:
                out.append(f"**{name}**: p99 at equal load {a['p99']:,.0f} µs vs {peer}'s "
                           f"{m['p99']:,.0f} µs (goal: lower than both)")
    for name in [n for n in kinds if kinds[n] == "idle"]:
        for b in ("switchyard-uring", "switchyard-portable"):
            a = get(name, b)
            if a and a["bpc"] is not None and a["bpc"] >= 4096:
                out.append(f"**{name}** ({b}): {a['bpc']:,.0f} bytes per idle connection (goal < 4,096)")
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    o = sys.argv[1]
    md = sys.argv[2] if len(sys.argv) > 2 else os.path.join(lib.ROOT, "BENCHMARKS.md")
    pl = sys.argv[3] if len(sys.argv) > 3 else os.path.join(lib.ROOT, "benches", "results")
    write(o, None if md == "-" else md, pl)
