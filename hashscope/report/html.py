"""The post-mortem report as one self-contained HTML page.

:func:`render_html` lays out a report summary (the JSON-able dict of schema 1, see
``tests/data/report/summary-example.json``) and the charts' PNG images as a single file that
reads offline and with JavaScript off: the CSS inline, every chart a ``data:`` image, every
table rendered into the markup, the summary itself embedded as a JSON island. A
Content-Security-Policy forbids every network access; the one inline script (sorting,
filtering, collapsing) is allowed by its hash, and so is the one style element.

Text from the summary comes from captures (interface names, descriptions, comments) and is
hostile: every string goes through :func:`hashscope.report.text.visible` (control and bidi
characters written out) and then :func:`html.escape`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import struct
from datetime import UTC, datetime
from importlib import resources

from .cells import (
    Cell,
    auto_cell,
    bool_cell,
    bytes_cell,
    count_cell,
    duration_cell,
    float_cell,
    heading,
    missing,
    share_cell,
    time_cell,
)
from .text import visible

# Anchors a finding's ``see`` may name, with the words its link shows.
SECTIONS = {
    "findings": "findings", "table-members": "member loads", "charts": "charts",
    "table-heaviest": "heaviest flows", "table-policies": "policy comparison",
    "inference": "inference", "observed": "observed against predicted",
    "table-disagreeing": "disagreeing flows", "table-moved": "flows that moved",
    "data-quality": "data quality", "captures": "captures", "notes": "notes",
}
_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})")
_PNG = b"\x89PNG\r\n\x1a\n"
_MISSING = "\u2013"


def _t(value: object) -> str:
    """Any text for the page: control/bidi characters visible, then HTML-escaped."""
    return html.escape(visible(str(value)), quote=True)


def _asset(name: str) -> str:
    return (resources.files("hashscope.report") / "page" / name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def json_island(summary: dict) -> str:
    """The summary as JSON that cannot end its ``<script>`` element nor start markup."""
    text = json.dumps(summary, ensure_ascii=False, indent=1)
    for char, esc in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"),
                      ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, esc)
    return text


# -- markup ----------------------------------------------------------------------------------

def _attr(name: str, value: str | None) -> str:
    return f' {name}="{_t(value)}"' if value else ""


def _td(c: Cell) -> str:
    attrs = ""
    classes = " ".join(x for x in ("num" if c.num else "", c.cls) if x)
    if classes:
        attrs += f' class="{classes}"'
    if c.sort is not None:
        attrs += f' data-sort="{_t(c.sort)}"'
    if c.title:
        attrs += f' title="{_t(c.title)}"'
    swatch = f'<span class="swatch sw-{c.swatch}"></span>' if c.swatch is not None else ""
    return f"<td{attrs}>{swatch}{_t(c.text)}</td>"


def table(tid: str, head: list[str], rows: list[list[Cell]], caption: str = "",
          filterable: bool = False, row_class: list[str] | None = None,
          groups: list[tuple[str, int]] | None = None) -> str:
    """A table rendered into the markup; ``groups``, a header row above ``head`` of
    (label, columns spanned)."""
    numeric = [any(r[i].sort != "" for r in rows)
               and all(r[i].num for r in rows if r[i].sort != "") for i in range(len(head))]
    out = [f'<div class="table-wrap"><table id="{_t(tid)}" class="sortable'
           f'{" filterable" if filterable else ""}">']
    if caption:
        out.append(f"<caption>{_t(caption)}</caption>")
    out.append("<thead>")
    if groups:
        out.append('<tr class="groups">' + "".join(
            f'<th scope="colgroup" colspan="{n}">{_t(label)}</th>' if label
            else f'<td colspan="{n}"></td>' for label, n in groups) + "</tr>")
    out.append("<tr>" + "".join(
        f'<th scope="col"{_attr("class", "num" if n else "")}>{_t(h)}</th>'
        for h, n in zip(head, numeric, strict=True)) + "</tr></thead><tbody>")
    for i, r in enumerate(rows):
        cls = row_class[i] if row_class else ""
        out.append(f"<tr{_attr('class', cls)}>" + "".join(map(_td, r)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def facts(pairs: list[tuple[str, Cell]]) -> str:
    if not pairs:
        return ""
    return '<dl class="facts">' + "".join(
        f"<dt>{_t(k)}</dt><dd{_attr('title', c.title)}>{_t(c.text)}</dd>"
        for k, c in pairs) + "</dl>"


def section(sid: str, title: str, body: str, level: int = 2) -> str:
    return (f'<section id="{_t(sid)}" class="collapsible"><h{level}>{_t(title)}</h{level}>'
            f"{body}</section>")


def _absent(text: str) -> str:
    return f'<p class="absent">{_t(text)}</p>'


def _png_size(png: bytes) -> tuple[int, int] | None:
    if png[:8] == _PNG and png[12:16] == b"IHDR":
        return struct.unpack(">II", png[16:24])
    return None


class _Page:
    def __init__(self, summary: dict, charts: list) -> None:
        self.s = summary
        self.charts = list(charts)
        self.members = [m for m in summary.get("members") or [] if isinstance(m, dict)]
        self.index = {m.get("name"): i for i, m in enumerate(self.members)}
        self.labels = dict(SECTIONS)
        self.labels.update({f"chart-{c.id}": f"chart: {c.title}" for c in self.charts})

    def member(self, name: object) -> Cell:
        if name is None:
            return missing()
        i = self.index.get(name)
        text = str(name)
        if i is None and "," in text:  # a flow seen on several members
            text = ", ".join(text.split(","))
        return Cell(text, sort=str(name), cls="text", swatch=i)

    def swatch_css(self) -> str:
        return "".join(f".sw-{i}{{background:{m['color']}}}" for i, m in enumerate(self.members)
                       if isinstance(m.get("color"), str) and _COLOR.fullmatch(m["color"]))

    # The sections, in the order a reader wants them.

    def header(self) -> str:
        s = self.s
        pairs = [(label, auto_cell(k, s[k])) for k, label in
                 (("policy", "policy"), ("packets", "packets"),
                  ("sent_packets", "packets sent"), ("sent_bytes", "bytes sent"),
                  ("flows", "flows"), ("link_speed_bps", "link speed"))
                 if s.get(k) is not None]
        start = (s.get("timeline") or {}).get("start_ns")
        if isinstance(start, int):
            when = datetime.fromtimestamp(start // 10**9, UTC)
            pairs.append(("first packet", Cell(f"{when:%Y-%m-%d %H:%M:%S}."
                                               f"{start % 10**9 // 10**6:03d} UTC")))
        inputs = "".join(f"<li><code>{_t(p)}</code></li>" for p in s.get("inputs") or [])
        toc = "".join(f'<a href="#{k}">{_t(v)}</a>' for k, v in SECTIONS.items()
                      if k in ("findings", "table-members", "charts", "table-heaviest",
                               "table-policies", "inference", "observed", "data-quality",
                               "captures", "notes"))
        return (f"<header><h1>{_t(s.get('title') or 'hashscope report')}</h1>"
                f'<p class="setup">{_t(s.get("setup") or "")}</p>{facts(pairs)}'
                + (f"<details><summary>inputs ({len(s.get('inputs') or [])})</summary>"
                   f"<ul>{inputs}</ul></details>" if inputs else "")
                + f'</header><nav class="toc" aria-label="sections">{toc}</nav>')

    def findings(self) -> str:
        items = []
        for f in self.s.get("findings") or []:
            sev = f.get("severity")
            sev = sev if sev in ("warning", "info", "ok") else "info"
            nums = "".join(f"<li>{_t(heading(k))} <b>{_t(auto_cell(k, v).text)}</b></li>"
                           for k, v in (f.get("numbers") or {}).items())
            links = []
            for a in f.get("see") or []:
                label = self.labels.get(a)
                links.append(f'<a href="#{_t(a)}">{_t(label)}</a>' if label else
                             f'<span class="absent">{_t(a)} (not in this page)</span>')
            items.append(
                f'<article class="finding {sev}" id="finding-{_t(f.get("id", ""))}">'
                f'<h3><span class="severity">{sev}</span>{_t(f.get("title", ""))}</h3>'
                f"<p>{_t(f.get('text', ''))}</p>"
                + (f'<ul class="numbers">{nums}</ul>' if nums else "")
                + (f'<p class="see">see: {"".join(links)}</p>' if links else "")
                + "</article>")
        body = (f'<div class="findings">{"".join(items)}</div>' if items
                else _absent("No findings."))
        return section("findings", "Findings", body)

    def member_table(self) -> str:
        loads = [x for x in self.s.get("loads") or [] if isinstance(x, dict)]
        names = [m.get("name") for m in self.members]
        names += [x.get("member") for x in loads if x.get("member") not in names]
        by = {(x.get("member"), x.get("direction")): x for x in loads}

        def total(direction: str, key: str) -> int:
            return sum(x.get(key) or 0 for x in loads if x.get("direction") == direction)

        pred_total = total("transmit", "predicted_bytes")
        obs_total = {d: total(d, "observed_bytes") for d in ("transmit", "receive")}
        observed = any(x.get("observed_bytes") is not None for x in loads)

        def share(v: int | None, whole: int) -> Cell:
            return share_cell(None if v is None else v / whole if whole else 0.0)

        head = ["member", "up", "flows", "packets", "bytes", "share"]
        groups = [("", 2), (f"predicted ({self.s.get('policy') or 'policy'})", 4)]
        if observed:
            head += ["bytes", "share", "bytes", "share"]
            groups += [("observed transmit", 2), ("observed receive", 2)]
        rows = []
        for i, name in enumerate(names):
            m = self.members[i] if i < len(self.members) else {}
            tx, rx = by.get((name, "transmit"), {}), by.get((name, "receive"), {})
            row = [self.member(name), bool_cell(m.get("up"), bad_when=False),
                   count_cell(tx.get("predicted_flows")), count_cell(tx.get("predicted_packets")),
                   bytes_cell(tx.get("predicted_bytes")),
                   share(tx.get("predicted_bytes"), pred_total)]
            if observed:
                for d in (tx, rx):
                    v = d.get("observed_bytes")
                    row += [bytes_cell(v), share(v, obs_total[d.get("direction", "transmit")])]
            rows.append(row)
        caption = "the transmit load each member was predicted to carry" + (
            ", and what the member captures saw" if observed else "")
        return section("members", "Members", table("table-members", head, rows,
                                                   caption=caption, groups=groups))

    def chart_sections(self) -> str:
        parts = []
        for c in self.charts:
            size = _png_size(c.png)
            dims = f' width="{size[0]}" height="{size[1]}"' if size else ""
            alt = getattr(c, "alt", None) or c.title
            src = "data:image/png;base64," + base64.b64encode(c.png).decode("ascii")
            parts.append(section(f"chart-{c.id}", c.title,
                                 f'<figure><img class="chart" src="{src}" alt="{_t(alt)}"'
                                 f"{dims}></figure>", level=3))
        return section("charts", "Charts", "".join(parts) or _absent("No charts."))

    def flow_table(self, tid: str, rows: list, caption: str = "") -> str:
        rows = [r for r in rows if isinstance(r, dict)]
        if not rows:
            return _absent("None.")
        keys = list(dict.fromkeys(k for r in rows for k in r))
        head, cols = [], []

        def col(label: str, fn) -> None:
            head.append(label)
            cols.append(fn)

        for k in keys:
            if k in ("predicted", "observed"):
                col(k, lambda r, k=k: self.member(r.get(k)))
            elif k == "first_ns":
                col("first (UTC)", lambda r: time_cell(r.get("first_ns")))
                if "last_ns" in keys:
                    col("duration", lambda r: duration_cell(
                        None if r.get("last_ns") is None or r.get("first_ns") is None
                        else r["last_ns"] - r["first_ns"]))
            elif k == "last_ns" and "first_ns" in keys:
                continue
            elif k == "members":
                col("on the members (UTC)", lambda r: Cell(" then ".join(
                    f"{m.get('member')} {time_cell(m.get('first_ns')).text}\u2013"
                    f"{time_cell(m.get('last_ns')).text}"
                    for m in r.get("members") or [] if isinstance(m, dict)), cls="text"))
            elif k in ("sport", "dport"):
                col(k, lambda r, k=k: count_cell(r.get(k)) if r.get(k) is None else
                    Cell(str(r[k]), sort=repr(r[k]), num=True))
            elif k == "agrees":
                col(k, lambda r: bool_cell(r.get("agrees"), bad_when=False))
            else:
                col(heading(k), lambda r, k=k: auto_cell(k, r.get(k)))
        cells = [[fn(r) for fn in cols] for r in rows]
        return table(tid, head, cells, caption=caption, filterable=True)

    def heaviest(self) -> str:
        flows = self.s.get("heaviest_flows") or []
        return section("heaviest", "Heaviest flows",
                       self.flow_table("table-heaviest", flows,
                                       f"the {len(flows)} largest flows by bytes"))

    def policies(self) -> str:
        pol = [p for p in self.s.get("policies") or [] if isinstance(p, dict)]
        if not pol:
            return section("policies", "Policies", _absent("No policy comparison."))
        keys = list(dict.fromkeys(k for p in pol for k in p))
        labels = {"busiest_share": "busiest member", "jain": "Jain index",
                  "max_mean": "max/mean"}

        def cell(k: str, v: object) -> Cell:
            if k == "jain" and isinstance(v, int | float):
                return float_cell(v, ".3f")
            if k == "max_mean" and isinstance(v, int | float):
                return Cell(f"{v:.2f}\u00d7", sort=repr(v), num=True)
            return auto_cell(k, v)

        rows = [[cell(k, p.get(k)) for k in keys] for p in pol]
        return section("policies", "Policies", table(
            "table-policies", [labels.get(k, heading(k)) for k in keys], rows,
            caption="the same flows under every policy: the lower the busiest member's "
                    "share and max/mean, the better",
            row_class=["current" if p.get("current") else "" for p in pol]))

    def generic(self, obj: dict, prefix: str, special: dict | None = None) -> str:
        """A dict of the summary laid out without knowing its keys: scalars (and short
        lists and dicts) as facts, lists of dicts as tables."""
        special = special or {}
        pairs, parts = [], []
        for k, v in obj.items():
            if k in special:
                parts.append(special[k](v))
            elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                keys = list(dict.fromkeys(x for r in v for x in r))
                rows = [[auto_cell(x, r.get(x)) for x in keys] for r in v]
                parts.append(f"<h3>{_t(heading(k).capitalize())}</h3>"
                             + table(f"{prefix}-{k}", [heading(x) for x in keys], rows))
            elif k in ("warnings", "notes") and isinstance(v, list):
                if v:
                    parts.append(f'<h3>{_t(k.capitalize())}</h3><ul class="{_t(k)}">'
                                 + "".join(f"<li>{_t(auto_cell(k, x).text)}</li>" for x in v)
                                 + "</ul>")
            else:
                pairs.append((heading(k), auto_cell(k, v)))
        return facts(pairs) + "".join(parts)

    def inference(self) -> str:
        inf = self.s.get("inference")
        if inf is None:
            body = _absent("No inference in this report.")
        elif isinstance(inf, dict) and inf and all(isinstance(v, dict) for v in inf.values()):
            body = "".join(f"<h3>{_t(str(side).capitalize())}</h3>"
                           + self.generic(v, f"inference-{side}") for side, v in inf.items())
        elif isinstance(inf, dict):
            body = self.generic(inf, "inference")
        else:
            body = f"<p>{_t(inf)}</p>"
        return section("inference", "Inference", body)

    def observed(self) -> str:
        o = self.s.get("observed_vs_predicted")
        if not isinstance(o, dict):
            return section("observed", "Observed against predicted", _absent(
                "No captures on the members: nothing observed to compare with the "
                "prediction."))

        def flows(key: str, title: str, count: str):
            def render(rows: list) -> str:
                n = o.get(count)
                cap = f"{len(rows)} of {n}" if isinstance(n, int) else ""
                return f"<h3>{_t(title)}</h3>" + self.flow_table(f"table-{key}", rows, cap)
            return render

        special = {"disagreeing": flows("disagreeing", "Disagreeing flows, largest first",
                                        "disagreeing_flows"),
                   "moved": flows("moved", "Flows seen on more than one member", "moved_flows")}
        return section("observed", "Observed against predicted",
                       self.generic(o, "observed", special))

    def data_quality(self) -> str:
        dq = self.s.get("data_quality")
        body = (self.generic(dq, "data-quality") if isinstance(dq, dict)
                else _absent("No data-quality figures."))
        return section("data-quality", "Data quality", body)

    def captures(self) -> str:
        """One row an interface: the file, its comment, the interface's name and
        description (all text from the capture)."""
        caps = [c for c in self.s.get("captures") or [] if isinstance(c, dict)]
        rows = []
        for cap in caps:
            ifs = [x for x in cap.get("interfaces") or [] if isinstance(x, dict)] or [{}]
            rows += [(cap, x) for x in ifs]
        extra = list(dict.fromkeys(k for _, x in rows for k in x
                                   if k not in ("name", "description")))

        def text(v: object) -> Cell:
            return missing() if v is None else Cell(str(v), cls="text")

        about = [k for k in ("application", "os", "hardware")
                 if any(c.get(k) is not None for c, _ in rows)]  # the files' own words
        extra = [k for k in extra if k != "comment"]
        cells = [[text(c.get("path")), text(c.get("comment")),
                  *(text(c.get(k)) for k in about), text(x.get("name")),
                  text(x.get("description")), text(x.get("comment")),
                  *(auto_cell(k, x.get(k)) for k in extra)]
                 for c, x in rows]
        head = ["file", "comment", *about, "interface", "description", "interface comment",
                *map(heading, extra)]
        body = (table("table-captures", head, cells,
                      caption="the files read, and their interfaces as the files name them")
                if rows else _absent("No captures."))
        return section("captures", "Captures", body)

    def notes(self) -> str:
        notes = self.s.get("notes") or []
        body = ("<ul>" + "".join(f"<li>{_t(n)}</li>" for n in notes) + "</ul>" if notes
                else _absent("No notes."))
        return section("notes", "Notes", body)

    def render(self) -> str:
        css = _asset("page.css") + self.swatch_css()
        js = _asset("page.js")
        assert "</" not in js and "</" not in css
        csp = (f"default-src 'none'; img-src data:; style-src {_csp_hash(css)}; "
               f"script-src {_csp_hash(js)}; base-uri 'none'; form-action 'none'")
        body = "".join([self.header(), "<main>", self.findings(), self.member_table(),
                        self.chart_sections(), self.heaviest(), self.policies(),
                        self.inference(), self.observed(), self.data_quality(),
                        self.captures(), self.notes(), "</main>"])
        gen = self.s.get("generator") or "hashscope"
        return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
                '<meta name="viewport" content="width=device-width, initial-scale=1">'
                '<meta name="color-scheme" content="light dark">'
                '<meta name="referrer" content="no-referrer">'
                f"<title>{_t(self.s.get('title') or 'hashscope report')}</title>"
                f"<style>{css}</style></head>\n<body>{body}"
                f"<footer>{_t(gen)}, report schema {_t(self.s.get('schema_version', '?'))}"
                "</footer>\n"
                f'<script type="application/json" id="summary">{json_island(self.s)}</script>\n'
                f"<script>{js}</script>\n</body></html>\n")


def render_html(summary: dict, charts: list) -> str:
    """The report page: ``summary`` a report summary dict (schema 1), ``charts`` objects
    with ``id``, ``title`` and ``png`` (bytes), shown in their order."""
    return _Page(summary, charts).render()
