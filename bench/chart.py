"""The benchmark chart as a standalone SVG (stdlib only, so it needs neither a network nor a package).

One panel per added round-trip time, side by side; in each, a group per secret count and a bar per
contender: the median wall time on a log scale, with a whisker from min to max.
"""

import math
from html import escape

COLORS = {
    "floor": "#999999",
    "lambda-secrets": "#d95f02",
    "curl": "#7570b3",
    "aws-sdk-rust": "#1b9e77",
    "node": "#66a61e",
    "boto3": "#e6ab02",
    "aws-cli": "#a6761d",
}
OTHER = ["#666666", "#e7298a", "#1f78b4", "#b15928"]

ROW, BAR, GROUP_GAP, HEAD = 17, 12, 12, 18
LEFT, RIGHT, TOP, PANEL_GAP = 200, 20, 74, 28


def fmt(ms):
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms" if ms >= 10 else f"{ms:.2f} ms"


def render(res, width=1000, skip=("runtime-alone",)):
    rows = [r for r in res["results"] if r["contender"] not in skip]
    rtts = [t for t in res["config"]["rtt_ms"] if any(r["rtt_ms"] == t for r in rows)]
    counts = [n for n in res["config"]["counts"] if any(r["count"] == n for r in rows)]
    names = []
    for r in rows:
        if r["contender"] not in names:
            names.append(r["contender"])
    labels = {r["contender"]: r["label"] for r in rows}
    colors, spare = {}, iter(OTHER * 4)
    for n in names:
        colors[n] = COLORS.get(n) or next(spare)
    by = {(r["contender"], r["count"], r["rtt_ms"]): r for r in rows}

    lo = min(r["wall"]["min"] for r in rows)
    hi = max(r["wall"]["max"] for r in rows)
    lo_exp = math.floor(math.log10(max(lo, 1e-3)))
    hi_log = math.log10(hi) + 0.85  # room for the label after the longest whisker
    hi_exp = math.floor(hi_log)
    panel_w = (width - LEFT - RIGHT - PANEL_GAP * (len(rtts) - 1)) / max(len(rtts), 1)

    def x_of(panel, ms):
        f = (math.log10(max(ms, 10 ** lo_exp)) - lo_exp) / (hi_log - lo_exp)
        return LEFT + panel * (panel_w + PANEL_GAP) + f * panel_w

    body_h = len(counts) * (HEAD + ROW * len(names)) + (len(counts) - 1) * GROUP_GAP
    legend_h = 24
    height = TOP + body_h + 34 + legend_h + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
           f'viewBox="0 0 {width} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="11">',
           f'<rect width="{width}" height="{height:.0f}" fill="#ffffff"/>']
    m = res["meta"]
    f = m["facts"]
    out.append(f'<text x="{LEFT - 190}" y="22" font-size="15" font-weight="bold">Cold start to runtime exec: '
               'lambda-secrets and the alternatives</text>')
    out.append(f'<text x="{LEFT - 190}" y="40" fill="#444">median wall time per fresh process (log scale), '
               f'whiskers min to max; {escape(m["date"])}, {escape(str(f.get("cores")))} cores {escape(f.get("machine", ""))}, '
               f'local HTTPS Secrets Manager, one interleaved run</text>')

    top = TOP
    for p, rtt in enumerate(rtts):
        x0, x1 = x_of(p, 10 ** lo_exp), x_of(p, 10 ** hi_log)
        out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{top - 14}" text-anchor="middle" font-weight="bold">'
                   f'+{rtt} ms round-trip time</text>')
        for e in range(lo_exp, hi_exp + 1):
            for mult in (1, 2, 5):
                v = mult * 10 ** e
                if v > 10 ** hi_log:
                    break
                x = x_of(p, v)
                major = mult == 1
                out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{top + body_h}" '
                           f'stroke="{"#cccccc" if major else "#eeeeee"}" stroke-width="1"/>')
                if major:
                    label = f"{v:g} ms" if v < 1000 else f"{v / 1000:g} s"
                    anchor = "start" if e == lo_exp else "end" if x1 - x < 20 else "middle"
                    out.append(f'<text x="{x:.1f}" y="{top + body_h + 14}" text-anchor="{anchor}" fill="#555">{label}</text>')
    y = top
    for gi, n in enumerate(counts):
        out.append(f'<text x="{LEFT - 190}" y="{y + 13}" font-weight="bold">{n} secret{"s" if n != 1 else ""}</text>')
        y += HEAD
        for name in names:
            out.append(f'<text x="{LEFT - 8}" y="{y + BAR - 2}" text-anchor="end" fill="#222">{escape(labels[name])}</text>')
            for p, rtt in enumerate(rtts):
                r = by.get((name, n, rtt))
                if r is None:
                    continue
                w = r["wall"]
                xa, xm = x_of(p, 10 ** lo_exp), x_of(p, w["median"])
                xmin, xmax = x_of(p, w["min"]), x_of(p, w["max"])
                weight = ' stroke="#000" stroke-width="0.6"' if name == "lambda-secrets" else ""
                out.append(f'<rect x="{xa:.1f}" y="{y}" width="{max(xm - xa, 1):.1f}" height="{BAR}" '
                           f'fill="{colors[name]}"{weight}><title>{escape(labels[name])}, {n} secrets, +{rtt} ms: '
                           f'median {fmt(w["median"])} (min {fmt(w["min"])}, max {fmt(w["max"])}, {w["n"]} runs)</title></rect>')
                cy = y + BAR / 2
                out.append(f'<line x1="{xmin:.1f}" y1="{cy}" x2="{xmax:.1f}" y2="{cy}" stroke="#222" stroke-width="1"/>')
                for xx in (xmin, xmax):
                    out.append(f'<line x1="{xx:.1f}" y1="{cy - 3}" x2="{xx:.1f}" y2="{cy + 3}" stroke="#222" stroke-width="1"/>')
                bold = ' font-weight="bold"' if name == "lambda-secrets" else ""
                out.append(f'<text x="{xmax + 4:.1f}" y="{y + BAR - 2}" fill="#222"{bold}>{fmt(w["median"])}</text>')
            y += ROW
        y += GROUP_GAP
    # legend
    ly = top + body_h + 34
    lx = LEFT - 190
    for name in names:
        out.append(f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{colors[name]}"/>')
        out.append(f'<text x="{lx + 16}" y="{ly + 10}">{escape(labels[name])}</text>')
        lx += 28 + 5.9 * len(labels[name])
    out.append("</svg>")
    return "\n".join(out) + "\n"
