"""The docs hold up: every Python block in README.md and docs/*.md runs as written,
the README's reading order points at the code it names, its links lead to files,
and it stays a landing page."""
import glob
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGES = ["README.md"] + sorted(os.path.relpath(p, ROOT)
                               for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))


def python_blocks():
    """(page, first line, code) of every ```python block."""
    for page in PAGES:
        text = open(os.path.join(ROOT, page), encoding="utf-8").read()
        for match in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M):
            yield page, text[:match.start()].count("\n") + 2, match.group(1)


BLOCKS = list(python_blocks())


def test_there_are_blocks_to_run():
    assert {page for page, _, _ in BLOCKS} >= {"README.md", "docs/estimator.md",
                                               "docs/engine.md", "docs/benchmarks.md"}


BMI = re.compile(r"^\s*(import bmi|from bmi)", re.M)    # a block about the bmi benchmark


@pytest.fixture(scope="module")
def started(tmp_path_factory):
    """Every block, started at once with one BLAS thread each, so that they run side
    by side on the cores while the tests wait for them in turn; a bmi block runs in
    the bmi environment (bench/truth/bmi_env.py), or is a reason to skip."""
    runs = {}
    for page, line, code in BLOCKS:
        python = sys.executable
        if BMI.search(code):
            from bench.truth import bmi_env
            try:
                python = bmi_env.BMI.ensure()
            except RuntimeError as error:
                runs[page, line] = f"the released bmi cannot be installed here: {error}"
                continue
        runs[page, line] = subprocess.Popen(
            [python, "-c", code], cwd=tmp_path_factory.mktemp("block"), text=True,
            env={**os.environ, "PYTHONPATH": ROOT, "OPENBLAS_NUM_THREADS": "1"},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    yield runs
    for run in runs.values():
        if not isinstance(run, str):
            run.kill()
            run.communicate()


@pytest.mark.slow  # some blocks train an estimator for seconds
@pytest.mark.parametrize("page, line, code", BLOCKS,
                         ids=[f"{page}:{line}" for page, line, _ in BLOCKS])
def test_python_block_runs_as_written(started, page, line, code):
    """Each block alone, in a fresh interpreter, in an empty folder (files it writes
    land there), with minimi importable as after `pip install .`."""
    run = started[page, line]
    if isinstance(run, str):
        pytest.skip(run)
    _, stderr = run.communicate(timeout=300)
    assert run.returncode == 0, f"{page}:{line} failed:\n{stderr[-2000:]}"


def test_the_reading_order_points_at_what_it_names():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    rows = re.findall(r"^\|(.*)\| \[(minimi/[\w/]+\.py):(\d+)–(\d+)\]\(\2\) \|$", readme, re.M)
    assert len(rows) >= 10
    for cells, path, first, last in rows:
        lines = open(os.path.join(ROOT, path), encoding="utf-8").read().split("\n")
        first, last = int(first), int(last)
        assert 1 <= first <= last <= len(lines), f"{path}:{first}–{last} is outside the file"
        shown = "\n".join(lines[first - 1:last])
        symbols = re.findall(r"`([\w.]+)`", cells.split("|")[-1])
        if first > 1:  # the range starts where its first symbol is defined
            assert re.match(rf"\s*(@\w+\s*)?(def|class) {symbols[0].split('.')[0]}\b",
                            lines[first - 1]), f"README: {path}:{first} is not where " \
                                               f"{symbols[0]} starts"
        for symbol in symbols:
            name = symbol.split(".")[-1]
            assert re.search(rf"^\s*(def|class) {name}\b", shown, re.M), \
                f"README: {symbol} is not defined in {path}:{first}–{last}"


def test_links_lead_to_files_and_nothing_points_outside_the_repository():
    for page in PAGES:
        text = open(os.path.join(ROOT, page), encoding="utf-8").read()
        base = os.path.dirname(os.path.join(ROOT, page))
        for link in re.findall(r"\]\(([^)\s]+)\)", text):
            if link.startswith(("http://", "https://")):
                continue
            target, _, anchor = link.partition("#")
            path = os.path.join(base, target) if target else os.path.join(ROOT, page)
            assert os.path.exists(path), f"{page}: broken link {link}"
            if anchor:
                assert anchor in _anchors(path), f"{page}: no heading for the anchor of {link}"
        assert "SPEC" not in text and "../shared" not in text, page
    for path in glob.glob(os.path.join(ROOT, "minimi", "**", "*.py"), recursive=True):
        text = open(path, encoding="utf-8").read()
        assert "SPEC" not in text and "../shared" not in text, path


def _anchors(path):
    """The anchors GitHub makes of a Markdown file's headings: lower case, spaces to
    hyphens, punctuation other than - and _ dropped."""
    text = open(path, encoding="utf-8").read()
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.*)$", text, re.M)}


def test_readme_is_a_landing_page():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    assert readme.count("\n") <= 200
    # the autodiff example comes first, before any estimator detail
    assert readme.index("```python") < readme.index("minimi.estimate")


def _tests_by_file():
    """{file name: its test function names} for every test file under tests/."""
    found = {}
    for path in glob.glob(os.path.join(ROOT, "tests", "**", "test_*.py"), recursive=True):
        text = open(path, encoding="utf-8").read()
        found[os.path.basename(path)] = set(re.findall(r"^def (test_\w+)", text, re.M))
    return found


def test_every_test_the_docs_name_exists():
    """`test_x.py::test_y` (and `::test_z` after it, for the same file) in the docs name
    tests that exist: a refusal table whose test was renamed or moved says so here."""
    tests = _tests_by_file()
    named = 0
    for page in PAGES:
        text = open(os.path.join(ROOT, page), encoding="utf-8").read()
        for cell in re.findall(r"`(?:tests/[\w/]*)?(test_\w+\.py)((?:::test_\w+)?)`((?:, `::test_\w+`)*)",
                               text):
            file, first, more = cell
            assert file in tests, f"{page}: no test file {file}"
            for name in re.findall(r"::(test_\w+)", first + more):
                assert name in tests[file], f"{page}: {file} has no {name}"
                named += 1
    assert named >= 30
