"""The results page (python -m bench report --html): its Markdown, what it shows, that every
file it names is there and decodes, and, in a real headless Chromium, that every figure
loads. Without a browser the browser test says so loudly and the file checks still run."""
import json
import os
import shutil
import warnings

import pytest
from grids import tiny
from page_check import browser, browser_problems, file_problems, parsed

from bench import page, report
from bench.grid import records
from bench.paper import onehot
from bench.truth import tasks


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
