"""Checks of a results page (python -m bench report --html) that the tests share: without
a browser (every file it names is there and decodes, tags nest, table rows match their
header) and in a real headless Chromium (every figure loads at its size; a screenshot)."""
import html
import html.parser
import json
import os
import shutil
import subprocess

from PIL import Image

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
    start += len('<pre id="probe">')
    seen = json.loads(html.unescape(dom[start:dom.index("</pre>", start)]))
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
