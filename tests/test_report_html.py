"""The report's HTML page without a browser: escaping, the CSP, no network, structure."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hashscope.report.html import bytes_cell, json_island, render_html, share_cell

EXAMPLE = Path(__file__).parent / "data" / "report" / "summary-example.json"

XSS_IMG = "</script><img src=x onerror=alert(1)>"
XSS_SCRIPT = "<script>window.__pwned=1</script>"
MATH = "$\\frac{1}{$"
RLO = "eth\u202e1"
HOSTILE_NAMES = {"ens1f0": XSS_IMG, "ens1f1": XSS_SCRIPT, "ens1f2": MATH, "ens1f3": RLO}


@dataclass(frozen=True)
class StubChart:
    """Stands in for hashscope's Chart (id, title, png, svg)."""
    id: str
    title: str
    png: bytes
    svg: str = ""


def png_bytes(kind: str = "bar", width: float = 7.0, height: float = 2.6) -> bytes:
    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"]
    if kind == "bar":
        ax.bar(["ens1f0", "ens1f1", "ens1f2", "ens1f3"], [57.7, 42.3, 0, 0], color=colors)
        ax.set_ylabel("% of bytes")
    else:
        for i, c in enumerate(colors[:2]):
            ax.plot([x * 5 for x in range(40)], [30 - 10 * i + (x % 7) for x in range(40)],
                    color=c, label=f"ens1f{i}")
        ax.set_xlabel("ms")
        ax.legend()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def example_charts() -> list[StubChart]:
    return [StubChart("throughput", "Bytes per member over time", png_bytes("line")),
            StubChart("flow-timeline", "Heaviest flows over time", png_bytes("line")),
            StubChart("policies", "Busiest member's share by policy", png_bytes("bar"))]


def example_summary() -> dict:
    return json.loads(EXAMPLE.read_text())


def _flow(sport: int, pred: str, obs: str, nbytes: int) -> dict:
    return {"src": "198.51.100.10", "sport": sport, "dst": "198.51.100.20", "dport": 5201,
            "proto": "tcp", "bytes": nbytes, "predicted": pred, "observed": obs}


def compared_summary() -> dict:
    """The example with an inference and observed-vs-predicted flows."""
    s = example_summary()
    s["observed_vs_predicted"] = {
        "agreement": {"flows": 0.8, "bytes": 0.826},
        "flows_judged": 5, "flows_agreeing": 4, "bytes_judged": 2243103,
        "bytes_agreeing": 1852248, "disagreeing_flows": 1,
        "disagreeing": [_flow(50003, "ens1f1", "ens1f2", 390855)],
        "moved_flows": 1,
        "moved": [{**_flow(50001, "ens1f0", "ens1f0,ens1f1", 586227),
                   "members": [{"member": "ens1f0", "first_ns": 1764574566867000000,
                                "last_ns": 1764574566950000000},
                               {"member": "ens1f1", "first_ns": 1764574566951000000,
                                "last_ns": 1764574567041000000}]}],
    }
    s["inference"] = {
        "direction": "transmit", "explained": True, "reason": "one policy explains every flow",
        "approximate": False, "members": ["ens1f0", "ens1f1", "ens1f2", "ens1f3"],
        "notes": ["direction: detected"],
        "candidates": [
            {"policy": "layer3+4", "mode": "802.3ad", "exact": True,
             "agreement": {"flows": 1.0, "packets": 1.0, "bytes": 1.0}, "flows": 5,
             "args": ["--policy", "layer3+4"]},
            {"policy": "encap3+4", "mode": "802.3ad", "exact": True,
             "agreement": {"flows": 1.0, "packets": 1.0, "bytes": 1.0}, "flows": 5,
             "args": ["--policy", "encap3+4"]}],
    }
    return s


def hostile_summary() -> dict:
    """Member, interface and capture text an attacker chose, everywhere text goes."""
    text = json.dumps(compared_summary())
    for old, new in HOSTILE_NAMES.items():
        text = text.replace(json.dumps(old), json.dumps(new))
    s = json.loads(text)
    s["title"] = f"post-mortem {XSS_SCRIPT} & \"quotes\" 'apostrophes'"
    s["members"][0]["color"] = "red;}</style><script>window.__pwned=1</script>"
    s["captures"][0]["comment"] = XSS_IMG
    s["captures"][1]["comment"] = "\"><svg onload=alert(1)> \u2028 line \u2029 para"
    s["captures"][2]["interfaces"][0]["description"] = "_eth0"
    s["captures"][3]["interfaces"][0]["description"] = f"{RLO} \x1b[31m red"
    s["captures"][3]["path"] = XSS_SCRIPT + ".pcap"
    s["findings"][0]["title"] = XSS_IMG
    s["findings"][0]["see"].append("\"><img src=x onerror=alert(1)>")
    s["findings"][1]["numbers"]["port"] = XSS_SCRIPT
    s["notes"].append(f"{XSS_IMG} {MATH} _eth0 {RLO} \u2028")
    s["inference"]["reason"] = XSS_SCRIPT
    s["data_quality"]["warnings"] = [XSS_IMG]
    return s


class _Tree(HTMLParser):
    """Tags, attributes and nesting errors of a page."""
    VOID = {"meta", "img", "br", "hr", "input", "link", "source", "wbr", "col"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self.styles: list[str] = []
        self._raw: tuple[str, dict] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ("script", "style"):
            self._raw = (tag, a)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        if self._raw is not None:
            tag, a = self._raw
            (self.scripts.append((a, data)) if tag == "script" else self.styles.append(data))

    def handle_endtag(self, tag):
        self._raw = None
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
        else:
            self.stack.pop()


def parse(page: str) -> _Tree:
    t = _Tree()
    t.feed(page)
    t.close()
    return t


def island(page: str) -> str:
    m = re.search(r'<script type="application/json" id="summary">(.*?)</script>', page, re.S)
    assert m
    return m.group(1)


def _csp(tree: _Tree) -> str:
    metas = [a for t, a in tree.tags if t == "meta"
             and a.get("http-equiv", "").lower() == "content-security-policy"]
    assert len(metas) == 1
    return metas[0]["content"]


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.fixture(scope="module")
def charts():
    return example_charts()


@pytest.mark.parametrize("make", [example_summary, compared_summary, hostile_summary])
def test_json_island_round_trips_and_cannot_break_out(make, charts):
    summary = make()
    page = render_html(summary, charts)
    text = island(page)
    for bad in ("<", ">", "&", "\u2028", "\u2029"):
        assert bad not in text
    assert json.loads(text) == summary
    unescaped = (text.replace("\\u003c", "<").replace("\\u003e", ">")
                 .replace("\\u0026", "&"))
    assert json.loads(unescaped) == summary
    # The only ends of script elements are the island's and the inline script's.
    assert page.lower().count("</script") == 2
    assert json_island({"x": "</script>"}) == '{\n "x": "\\u003c/script\\u003e"\n}'


@pytest.mark.parametrize("make", [example_summary, hostile_summary])
def test_csp_forbids_the_network_and_allows_the_one_script_by_hash(make, charts):
    page = render_html(make(), charts)
    tree = parse(page)
    csp = _csp(tree)
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["default-src"] == ["'none'"]
    assert directives["img-src"] == ["data:"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'none'"]
    inline = [body for a, body in tree.scripts if "type" not in a]
    assert len(inline) == 1
    assert directives["script-src"] == [_sha(inline[0])]
    assert len(tree.styles) == 1
    assert directives["style-src"] in ([_sha(tree.styles[0])], ["'unsafe-inline'"])
    # Nothing but the CSP's own sources anywhere.
    assert "http:" not in csp and "https:" not in csp and "*" not in csp


@pytest.mark.parametrize("make", [example_summary, compared_summary, hostile_summary])
def test_nothing_loads_from_the_network(make, charts):
    page = render_html(make(), charts)
    tree = parse(page)
    tags = {t for t, _ in tree.tags}
    for forbidden in ("link", "iframe", "object", "embed", "base", "form", "svg", "video",
                      "audio", "source"):
        assert forbidden not in tags, forbidden
    for tag, attrs in tree.tags:
        for name in ("src", "href", "action", "srcset", "poster", "data", "formaction"):
            v = attrs.get(name)
            if v is None:
                continue
            assert not re.match(r"\s*(https?:|//|javascript:)", v, re.I), (tag, name, v)
            if name == "src":
                assert tag == "img" and v.startswith("data:image/png;base64,")
            if name == "href":
                assert tag == "a" and v.startswith("#")
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        assert "style" not in attrs
    assert "url(" not in "".join(tree.styles)


@pytest.mark.parametrize("make", [example_summary, compared_summary, hostile_summary])
def test_page_is_well_formed(make, charts):
    page = render_html(make(), charts)
    assert page.startswith("<!DOCTYPE html>")
    tree = parse(page)
    assert tree.errors == []
    assert tree.stack == []
    ids = [a["id"] for _, a in tree.tags if "id" in a]
    assert len(ids) == len(set(ids))


def test_sections_in_order_and_findings_first(charts):
    summary = compared_summary()
    page = render_html(summary, charts)
    order = ["findings", "table-members", "chart-throughput", "chart-flow-timeline",
             "chart-policies", "table-heaviest", "table-policies", "inference",
             "table-disagreeing", "table-moved", "data-quality", "captures", "notes"]
    at = [page.index(f'id="{i}"') for i in order]
    assert at == sorted(at)
    tree = parse(page)
    found = [a for t, a in tree.tags if t == "article"]
    assert [a["id"] for a in found] == [f"finding-{f['id']}" for f in summary["findings"]]
    assert [a["class"] for a in found] == ["finding warning", "finding warning", "finding info"]
    assert page.index('id="finding-elephants"') < page.index('id="table-members"')
    # The numbers shown, and the see links pointing at anchors of the page.
    first = page[page.index('id="finding-elephants"'):page.index('id="finding-colliding')]
    assert "99.9%" in first and "<b>4</b>" in first
    assert 'href="#chart-flow-timeline"' in first and 'href="#table-heaviest"' in first
    ids = {a["id"] for _, a in tree.tags if "id" in a}
    for _, a in tree.tags:
        if a.get("href", "").startswith("#"):
            assert a["href"][1:] in ids
    # Without the chart, its anchor is named but not linked.
    page = render_html(summary, [])
    assert 'href="#chart-flow-timeline"' not in page
    assert "chart-flow-timeline (not in this page)" in page


def test_tables_are_in_the_markup(charts):
    summary = compared_summary()
    page = render_html(summary, charts)
    members = page[page.index('id="table-members"'):]
    members = members[:members.index("</table>")]
    for m in summary["members"]:
        assert f"{m['name']}</td>" in members
    assert members.count("<tr>") == 5
    assert 'title="1,294,690 bytes">1.29 MB<' in members
    assert ">57.7%<" in members
    for i, color in enumerate(m["color"] for m in summary["members"]):
        assert f".sw-{i}{{background:{color}}}" in page
    heavy = page[page.index('id="table-heaviest"'):]
    heavy = heavy[:heavy.index("</table>")]
    assert heavy.count("<tr>") == 1 + len(summary["heaviest_flows"])
    assert ">708 kB<" in heavy and ">50003<" in heavy and ">180 ms<" in heavy
    assert "filterable" in heavy
    pol = page[page.index('id="table-policies"'):]
    assert 'class="current"' in pol[:pol.index("</table>")]
    assert ">2.31\u00d7<" in pol and ">0.488<" in pol
    assert 'id="inference-candidates"' in page and "--policy layer3+4" in page
    moved = page[page.index('id="table-moved"'):]
    assert "ens1f0 07:36:06.867\u201307:36:06.950 then ens1f1" in moved
    assert "1 of 1" in page


def test_absent_parts_say_so(charts):
    page = render_html(example_summary(), charts)
    assert "No inference in this report." in page
    assert "nothing observed to compare" in page
    assert 'id="table-disagreeing"' not in page


def test_charts_are_data_images_with_alt_text(charts):
    tree = parse(render_html(example_summary(), charts))
    imgs = [a for t, a in tree.tags if t == "img"]
    assert len(imgs) == len(charts)
    for a, c in zip(imgs, charts, strict=True):
        assert base64.b64decode(a["src"].split(",", 1)[1]) == c.png
        assert a["alt"] == c.title
        assert a["width"] == "700" and a["height"] == "260"


def test_hostile_text_is_escaped_and_visible(charts):
    page = render_html(hostile_summary(), charts)
    body = page[:page.index('<script type="application/json"')]
    assert "<img src=x" not in page.lower().replace("&lt;img src=x", "")
    assert "<script>window" not in page
    assert "<svg" not in page
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in body
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in body
    assert "&quot;&gt;&lt;svg onload=alert(1)&gt;" in body
    assert "$\\frac{1}{$" in body and ">_eth0<" in body
    assert "eth\\u202e1" in body
    assert "\\x1b[31m" in body
    for raw in ("\u202e", "\x1b"):
        assert raw not in body
    # A colour that is not a colour is dropped, not written into the style.
    (style,) = parse(page).styles
    assert "red;" not in style and ".sw-0{" not in style
    assert ".sw-1{background:#ff7f0e}" in style


def test_formats():
    assert bytes_cell(653).text == "653 B"
    assert bytes_cell(1294690).text == "1.29 MB"
    assert bytes_cell(2243145000).title == "2,243,145,000 bytes"
    assert bytes_cell(None).sort == ""
    assert share_cell(0.999).text == "99.9%"
    assert share_cell(0.99996).text == ">99.9%"
    assert share_cell(0.00001).text == "<0.1%"
    assert share_cell(0.0).text == "0%"


def test_render_does_not_change_the_summary(charts):
    s = hostile_summary()
    before = copy.deepcopy(s)
    render_html(s, charts)
    assert s == before
