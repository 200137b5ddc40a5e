"""One results folder as one web page: `python -m bench report --out DIR --html` writes
DIR/index.html with, per experiment folder, what the paper reports, every figure of
that folder, its summary (the same Markdown as summary.md, as HTML), and the settings,
commit and machine of every run. Self-contained: no network, no script; the figures
are the PNGs beside it, referenced by relative paths, so the folder moves as a whole."""
import datetime
import glob
import html
import os
import re

from PIL import Image

from minimi.engine.files import write_text

from .grid import summaries

STYLE = """
body { font-family: sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
.paper { background: #f6f8fa; border-left: 4px solid #888; padding: 0.5em 1em; }
code { background: #f3f3f3; padding: 0 0.2em; }
details { margin: 1em 0; } summary { cursor: pointer; }
"""


# ---- the Markdown our summaries use, as HTML ------------------------------------------------

def inline(text):
    """One line's inline Markdown: `code`, **bold**, and \\| for a pipe inside a table cell;
    everything else escaped."""
    parts = text.replace("\\|", "|").split("`")
    out = []
    for i, part in enumerate(parts):
        part = html.escape(part, quote=False)
        if i % 2:                                   # inside backticks (an unclosed one: text)
            out.append(f"<code>{part}</code>" if i < len(parts) - 1 else "`" + part)
        else:
            out.append(re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", part))
    return "".join(out)


def table_cells(line):
    """The cells of a table row `| a | b |`; a pipe written \\| stays in its cell."""
    cells = re.split(r"(?<!\\)\|", line.strip())
    return [c.strip() for c in cells[1:-1]]


def markdown(text, top=2):
    """HTML for the Markdown the summaries write: # headings (# becomes <h`top`>), tables,
    - lists and paragraphs, with inline(); anything else is a paragraph."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif re.match(r"#{1,6} ", line):
            level = min(line.index(" ") - 1 + top, 6)
            out.append(f"<h{level}>{inline(line.split(' ', 1)[1])}</h{level}>")
            i += 1
        elif line.startswith("|"):
            block = []
            while i < len(lines) and lines[i].startswith("|"):
                block.append(table_cells(lines[i]))
                i += 1
            out.append(_table(block))
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{inline(lines[i][2:])}</li>")
                i += 1
            out.append("<ul>\n" + "\n".join(items) + "\n</ul>")
        else:
            block = []
            while i < len(lines) and lines[i].strip() and not lines[i].startswith(("|", "- ")) \
                    and not re.match(r"#{1,6} ", lines[i]):
                block.append(inline(lines[i]))
                i += 1
            out.append("<p>" + "\n".join(block) + "</p>")
    return "\n".join(out)


def _table(rows):
    head, body = rows[0], rows[1:]
    if body and all(re.fullmatch(r":?-+:?", c) for c in body[0]):
        body = body[1:]                              # the |---|---| line
    return ("<table>\n<tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) + "</tr>\n" +
            "\n".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>"
                      for row in body) + "\n</table>")


# ---- the page --------------------------------------------------------------------------------

def write_page(out, experiments, paper=None):
    """DIR/index.html for `experiments` (folder names under `out`, in the order shown);
    `paper` maps an experiment to what the paper reports for it. Returns its path."""
    paper = paper or {}
    sections, contents, commits = [], [], set()
    for name in experiments:
        runs = summaries.load_runs(out, name)
        commits |= {(r.get("versions") or {}).get("commit") for r in runs}
        title, body = _summary(out, name)
        contents.append(f'<li><a href="#{name}">{inline(title)}</a></li>')
        sections.append(f'<section id="{name}">\n<h2>{inline(title)}</h2>\n' +
                        (f'<p class="paper"><b>The paper:</b> {inline(paper[name])}</p>\n'
                         if name in paper else "") +
                        _figures(out, name) + "\n" + body + "\n" +
                        (_runs_table(runs) if runs else "") +
                        "\n</section>")
    made = ", ".join(f"<code>{html.escape(short_commit(c))}</code>"
                     for c in sorted(c for c in commits if c)) or "not recorded"
    page = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            f"<title>minimi results: {html.escape(out)}</title>",
            f"<style>{STYLE}</style>", "</head>", "<body>",
            f"<h1>minimi results: <code>{html.escape(out)}</code></h1>",
            f"<p>Written {datetime.date.today().isoformat()} by <code>python -m bench report "
            f"--html</code> from the run files alone. Made by commit(s) {made}.</p>",
            "<ul>", *contents, "</ul>", *sections, "</body>", "</html>"]
    path = os.path.join(out, "index.html")
    write_text(path, "\n".join(page) + "\n")
    print(f"report: page {path}")
    return path


def short_commit(commit):
    """A run file's commit as the page shows it: 12 hex digits, '+changes' kept."""
    if not commit:
        return "not recorded"
    return commit[:12] + ("+changes" if commit.endswith("+changes") else "")


def _summary(out, name):
    """(title, the rest as HTML) of <out>/<name>/summary.md; the folder's name and a note
    where it has none."""
    path = os.path.join(out, name, "summary.md")
    if not os.path.exists(path):
        return name, f"<p>No summary.md in <code>{html.escape(path)}</code>.</p>"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    first, _, rest = text.partition("\n")
    if first.startswith("# "):
        return first[2:].strip(), markdown(rest, top=2)
    return name, markdown(text, top=2)


def _figures(out, name):
    items = []
    for path in sorted(glob.glob(os.path.join(out, name, "*.png"))):
        with Image.open(path) as image:
            width, height = image.size
        src = html.escape(os.path.relpath(path, out).replace(os.sep, "/"))
        items.append(f'<figure><a href="{src}"><img src="{src}" width="{width}" '
                     f'height="{height}" alt="{src}"></a><figcaption>{src}</figcaption></figure>')
    return "\n".join(items)


def _runs_table(runs):
    """A collapsed table: per (setting, loss) its seeds, status, settings, commit, machine
    and time."""
    groups = {}
    for r in runs:
        groups.setdefault((r["setting"], r["loss"]), []).append(r)
    rows = []
    for (setting, loss), group in sorted(groups.items()):
        statuses = ", ".join(f"seed {r['seed']}: {r['status']}" + (
            f" at step {r['diverged_at_step']}" if r.get("diverged_at_step") else "")
            for r in sorted(group, key=lambda r: r["seed"]))
        versions = [r.get("versions") or {} for r in group]
        commit = ", ".join(sorted({short_commit(v.get("commit")) for v in versions}))
        machine = ", ".join(sorted({f"{v.get('cpu', '?')}, {v.get('blas_kernel') or '?'}, "
                                    f"{v.get('blas_threads') or '?'} BLAS thread(s)"
                                    for v in versions}))
        settings = ", ".join(f"{k}={v}" for k, v in sorted(group[0]["config"].items()))
        seconds = sum(r.get("elapsed_s") or 0 for r in group)
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in (
            setting, loss, statuses, settings, commit, machine, f"{seconds:.0f}")) + "</tr>")
    return (f"<details><summary>Settings, commit and machine of each run ({len(runs)} runs)"
            "</summary>\n<table>\n<tr><th>setting</th><th>loss</th><th>seeds</th>"
            "<th>settings</th><th>commit</th><th>machine</th><th>seconds</th></tr>\n" +
            "\n".join(rows) + "\n</table></details>")
