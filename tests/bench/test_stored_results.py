"""What docs/results.md shows is the stored runs' own: docs/runs/ holds the run files,
every summary, figure and the page beside them is what `python -m bench report --html`
writes from those files alone, and each number results.md quotes inside a marked block
is in the summaries the block names (docs/performance.md's too, from the stored speed run)."""
import json
import os
import re
import shutil

import pytest
from page_check import browser, browser_problems, file_problems
from PIL import Image

from bench import report

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNS = os.path.join(ROOT, "docs", "runs")
RESULTS = os.path.join(ROOT, "docs", "results.md")
STUDIES = ["onehot", "cstar", "gaussian", "tasks", "bmi", "speed", "scale"]
# The figures the results page is read by (the issue that asked for them names them).
KEY_FIGURES = ["onehot/batch100.png", "onehot/batch32.png", "cstar/cstar.png",
               "gaussian/concat_h128x128_b64_1000steps.png", "tasks/estimates_n5000_rank.png",
               "bmi/estimates_n5000.png"]


def stored(suffix):
    """docs/runs/'s files whose names end with `suffix`, relative to it."""
    return sorted(os.path.relpath(os.path.join(d, f), RUNS) for d, _, files in os.walk(RUNS)
                  for f in files if f.endswith(suffix))


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    """The report and page written again from a copy of the stored run files alone."""
    out = tmp_path_factory.mktemp("runs")
    for name in stored(".json"):
        os.makedirs(os.path.dirname(out / name), exist_ok=True)
        shutil.copy(os.path.join(RUNS, name), out / name)
    report.main(["--out", str(out), "--html"])
    return out


def test_every_study_has_stored_runs_from_a_commit():
    runs = stored(".json")
    for study in STUDIES:
        assert any(r.startswith(study + os.sep) for r in runs), study
    for name in runs:
        with open(os.path.join(RUNS, name)) as f:
            data = json.load(f)
        # a speed run names its commit with its machine, a scale case at its top, a run
        # file in its versions
        commit = (data["machine"] if name.startswith("speed") else data if
                  name.startswith("scale") else data["versions"]).get("commit") or ""
        assert re.fullmatch(r"[0-9a-f]{40}", commit), f"{name}: made by {commit!r}, not a commit"


def test_the_summaries_and_figures_are_what_the_report_writes_from_the_runs(rebuilt):
    assert stored("summary.md") == [f"{s}/summary.md" for s in sorted(STUDIES)]
    for name in stored("summary.md"):
        with open(os.path.join(RUNS, name), encoding="utf-8") as f, \
                open(rebuilt / name, encoding="utf-8") as g:
            assert f.read() == g.read(), f"docs/runs/{name} is not what the report writes: " \
                                         "run `make docs-results`"
    rebuilt_figures = sorted(os.path.relpath(os.path.join(d, f), rebuilt)
                             for d, _, files in os.walk(rebuilt) for f in files
                             if f.endswith(".png"))
    assert stored(".png") == rebuilt_figures
    for name in rebuilt_figures:
        assert Image.open(os.path.join(RUNS, name)).size == Image.open(rebuilt / name).size


def test_the_stored_page_is_whole(tmp_path):
    assert file_problems(RUNS) == []
    chromium = browser()
    if chromium is None:
        pytest.skip("NO BROWSER: docs/runs/index.html was not opened in one (`make browser`)")
    for name in stored(".png") + ["index.html"]:   # a copy: the browser writes beside it
        os.makedirs(os.path.dirname(tmp_path / "runs" / name), exist_ok=True)
        shutil.copy(os.path.join(RUNS, name), tmp_path / "runs" / name)
    assert browser_problems(str(tmp_path / "runs"), chromium, str(tmp_path / "page.png")) == []


def test_results_md_shows_the_key_figures():
    with open(RESULTS, encoding="utf-8") as f:
        shown = re.findall(r"!\[[^\]]*\]\(runs/([^)]+)\)", f.read())
    assert set(KEY_FIGURES) <= set(shown)
    assert set(shown) <= set(stored(".png"))


@pytest.mark.parametrize("page, at_least", [("results.md", 6), ("performance.md", 1)])
def test_the_numbers_the_docs_quote_are_in_the_summaries_they_name(page, at_least):
    with open(os.path.join(ROOT, "docs", page), encoding="utf-8") as f:
        text = f.read()
    blocks = re.findall(r"<!-- numbers from ([\w ]+) -->(.*?)<!-- end of numbers -->", text,
                        re.S)
    assert len(blocks) >= at_least
    for sources, block in blocks:
        summaries = ""
        for study in sources.split():
            with open(os.path.join(RUNS, study, "summary.md"), encoding="utf-8") as f:
                summaries += f.read()
        for number in re.findall(r"[−+-]?\d+\.\d+", block):
            number = number.replace("−", "-").lstrip("+")
            # a number and its sign: 0.9 is not found in -0.9, nor -0.9 in -0.95
            assert re.search(r"(?<![\d.\-])" + re.escape(number) + r"(?!\d)", summaries), \
                f"docs/{page} quotes {number}, which is not in docs/runs/ {sources}"
