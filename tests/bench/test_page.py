"""The results page (python -m bench report --html): its Markdown, what it shows, that every
file it names is there and decodes, and, in a real headless Chromium, that every figure
loads. Without a browser the browser test says so loudly and the file checks still run."""
import html.parser
import json
import os
import shutil
import subprocess
import warnings

import pytest
from PIL import Image

from bench import page, report
from bench.grid import records
from bench.paper import onehot
from bench.truth import tasks

from grids import tiny

VOID = {"meta", "img", "br", "hr", "link", "input"}
# Appended to a copy of the page for the browser only (the page itself has no script):
# after load, every image's src, whether it finished and its decoded width.
PROBE = ("<script>window.addEventListener('load', function () { var seen = [];"
         " for (const i of document.images) seen.push([i.getAttribute('src'), i.complete,"
         " i.naturalWidth]); var p = document.createElement('pre'); p.id = 'probe';"
         " p.textContent = JSON.stringify(seen); document.body.appendChild(p); });</script>")


def browser():
    for name in (os.environ.get("MINIMI_BROWSER"), "chromium", "chromium-browser"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class Page(html.parser.HTMLParser):
    """The page's references, its tables (as rows of cells) and whether its tags nest."""

    def __init__(self):
        super().__init__()
        self.refs, self.images, self.tables, self.open, self.errors = [], [], [], [], []
        self.scripts, self._cell = 0, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.refs += [attrs[k] for k in ("src", "href") if k in attrs]
        if tag == "img":
            self.images.append(attrs)
        self.scripts += tag == "script"
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell)
            self._cell = None
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def parsed(path):
    parser = Page()
    with open(path, encoding="utf-8") as f:
        parser.feed(f.read())
    parser.close()
    return parser


def file_problems(out):
    """What is wrong with OUT/index.html without a browser: tags that do not nest, a
    script, a reference off the folder or to a missing file, a figure that is not a PNG
    or whose size is not the one the page gives it, a table row with more or fewer cells
    than its header."""
    page_ = parsed(os.path.join(out, "index.html"))
    problems = list(page_.errors) + [f"unclosed {t}" for t in page_.open]
    problems += ["a script"] * page_.scripts
    for ref in page_.refs:
        if ref.startswith("#"):
            continue
        if "://" in ref or ref.startswith(("/", "//")):
            problems.append(f"{ref}: not a file beside the page")
        elif not os.path.isfile(os.path.join(out, ref)):
            problems.append(f"{ref}: missing")
    for attrs in page_.images:
        path = os.path.join(out, attrs["src"])
        try:
            with Image.open(path) as image:
                image.load()
                if image.format != "PNG" or image.size != (int(attrs["width"]),
                                                           int(attrs["height"])):
                    problems.append(f"{attrs['src']}: {image.format} {image.size}, the page "
                                    f"says {attrs['width']}x{attrs['height']}")
        except OSError as error:
            problems.append(f"{attrs['src']}: {error}")
    for rows in page_.tables:
        problems += [f"a row of {len(r)} cells under a header of {len(rows[0])}: {r}"
                     for r in rows[1:] if len(r) != len(rows[0])]
    return problems


def browser_problems(out, chromium, screenshot):
    """Open OUT/index.html in headless Chromium: every image must load and decode at the
    width the page gives it; the screenshot must show something. Returns the problems."""
    with open(os.path.join(out, "index.html"), encoding="utf-8") as f:
        text = f.read()
    probe = os.path.join(out, "probe.html")      # beside the page: the same relative paths
    with open(probe, "w", encoding="utf-8") as f:
        f.write(text.replace("</body>", PROBE + "</body>"))
    flags = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--no-first-run", f"--user-data-dir={os.path.join(out, '.chromium')}"]
    try:
        dom = subprocess.run(flags + ["--virtual-time-budget=10000", "--dump-dom",
                                      f"file://{os.path.abspath(probe)}"],
                             capture_output=True, text=True, timeout=120).stdout
    finally:
        os.remove(probe)
    start = dom.find('<pre id="probe">')
    if start < 0:
        return [f"the page did not finish loading in Chromium: {dom[-300:]!r}"]
    import html as html_
    seen = json.loads(html_.unescape(dom[start + len('<pre id="probe">'):dom.index("</pre>",
                                                                                   start)]))
    widths = {a["src"]: int(a["width"]) for a in parsed(os.path.join(out, "index.html")).images}
    problems = [f"{src}: complete={done}, natural width {width}" for src, done, width in seen
                if not done or width != widths.get(src)]
    if sorted(s for s, _, _ in seen) != sorted(widths):
        problems.append(f"Chromium saw images {sorted(s for s, _, _ in seen)}, the page has "
                        f"{sorted(widths)}")
    subprocess.run(flags + [f"--screenshot={screenshot}", "--window-size=1280,2000",
                            f"file://{os.path.abspath(os.path.join(out, 'index.html'))}"],
                   capture_output=True, timeout=120)
    try:
        with Image.open(screenshot) as shot:
            colors = shot.convert("L").getextrema()
        if colors[0] == colors[1]:
            problems.append("the screenshot is blank")
    except OSError as error:
        problems.append(f"no screenshot: {error}")
    return problems


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """A results folder as `make bench` leaves it, tiny: a one-hot grid and a tasks grid,
    then the report with its page."""
    out = tmp_path_factory.mktemp("results")
    tiny(out, losses="mine,remine")
    tasks.main(["--out", str(out), "--samples", "300", "--steps", "40", "--seed", "0",
                "--jobs", "1", "--losses", "remine", "--no-report",
                "--tasks", "normal-sparse-2x2-1nats,additive-uniform-eps0.1"])
    report.main(["--out", str(out), "--html"])
    return str(out)


def test_the_page_shows_every_figure_summary_run_and_the_papers_words(results):
    text = open(os.path.join(results, "index.html"), encoding="utf-8").read()
    figures = sorted(os.path.relpath(os.path.join(d, f), results)
                     for d, _, files in os.walk(results) for f in files if f.endswith(".png"))
    assert figures == ["onehot/batch8.png", "tasks/estimates_n300_rank.png"]
    assert sorted(a["src"] for a in parsed(os.path.join(results, "index.html")).images) == figures
    assert '<section id="onehot">' in text and '<section id="tasks">' in text
    assert onehot.PAPER.split(":")[0] in text
    tables = parsed(os.path.join(results, "index.html")).tables
    headers = [rows[0] for rows in tables]
    assert ["task", "truth", "remine"] in headers                   # the summary's table
    task_table = tables[headers.index(["task", "truth", "remine"])]
    assert task_table[1][:2] == ["normal-sparse-2x2-1nats", "1.000"]
    runs_tables = [rows for rows in tables if rows[0][:2] == ["setting", "loss"]]
    assert len(runs_tables) == 2 and len(runs_tables[0]) == 1 + 2   # onehot: mine, remine
    made_by = records.source_commit()   # this checkout's, as the page shortens it
    commit = made_by[:12] + ("+changes" if made_by.endswith("+changes") else "") \
        if made_by else "not recorded"
    assert all(row[4] == commit for rows in runs_tables for row in rows[1:])
    assert f"Made by commit(s) <code>{commit}</code>." in text
    assert "steps=5" in runs_tables[0][1][3] and "seed 0: ok" in runs_tables[0][1][2]


def test_every_file_the_page_names_is_there_and_decodes(results):
    assert file_problems(results) == []


def test_the_file_checks_see_a_missing_or_broken_figure(results, tmp_path):
    copy = shutil.copytree(results, tmp_path / "copy")
    os.remove(copy / "onehot" / "batch8.png")
    (copy / "tasks" / "estimates_n300_rank.png").write_bytes(b"not a png")
    problems = file_problems(str(copy))
    assert any("onehot/batch8.png: missing" in p for p in problems)
    assert any("tasks/estimates_n300_rank.png" in p for p in problems)


def test_the_page_loads_in_a_real_browser_with_every_figure(results, tmp_path):
    chromium = browser()
    if chromium is None:
        message = ("NO BROWSER: Chromium is not installed, so the results page was not opened "
                   "in one (the file checks above still ran). Install Debian's chromium: "
                   "`make browser` (as root), then run this test again.")
        warnings.warn(message)
        pytest.skip(message)
    assert browser_problems(results, chromium, str(tmp_path / "page.png")) == []
    # and the same check fails where a figure is missing
    copy = shutil.copytree(results, tmp_path / "copy")
    os.remove(copy / "onehot" / "batch8.png")
    problems = browser_problems(str(copy), chromium, str(tmp_path / "broken.png"))
    assert problems and "onehot/batch8.png" in problems[0]


@pytest.mark.parametrize("text, expected", [
    ("# Title\n\n## Part", "<h2>Title</h2>\n<h3>Part</h3>"),
    ("| a | b \\| c |\n|---|---|\n| **1** | `x < y` |",
     "<table>\n<tr><th>a</th><th>b | c</th></tr>\n<tr><td><b>1</b></td>"
     "<td><code>x &lt; y</code></td></tr>\n</table>"),
    ("- one & two\n- `**not bold**`\n\nA line\nand <the next>",
     "<ul>\n<li>one &amp; two</li>\n<li><code>**not bold**</code></li>\n</ul>\n"
     "<p>A line\nand &lt;the next&gt;</p>"),
    ("an unclosed ` tick", "<p>an unclosed ` tick</p>"),
])
def test_the_summaries_markdown_as_html(text, expected):
    assert page.markdown(text) == expected


def test_runs_with_other_settings_stop_the_page_too(tmp_path):
    onehot.main(["--out", str(tmp_path), "--seeds", "2", "--steps", "5", "--batch-size", "8",
                 "--losses", "mine", "--no-report"])
    path = tmp_path / "onehot" / "batch8" / "mine" / "seed1.json"
    run = json.loads(path.read_text())
    run["config"]["lr"] = 0.5
    path.write_text(json.dumps(run))
    from bench.grid.commandline import BadInput
    with pytest.raises(BadInput, match="seed1.json: made with other settings"):
        report.main(["--out", str(tmp_path), "--html"])
    assert not (tmp_path / "index.html").exists()
