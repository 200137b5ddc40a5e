"""Reading users' tables (.npy arrays, CSV files) as the tools that write them do.

    read_table("x.npy")                   # (n, d) numbers
    read_table("y.csv")                   # header row detected, or an error when unsure
    read_table("y.csv", header=False)     # row 1 is data (--no-header); True: names (--header)

A cell is a number as spreadsheets, pandas and R write one (NUMBER below): 1_000,
1,000 (a quoted thousands separator) or digits of other scripts are refused.

Every error is an InputError that names the file (and the row and column, counted
from 1 as the file's lines are). A UTF-8 byte-order mark (Excel's "CSV UTF-8") is
dropped. Row 1 is a header when it is all text, data when it is all numbers,
except the column numbers 0, 1, ... that pandas writes for unnamed columns: a
header above decimals, and an error naming the flags that settle it above
integers, where it could be either. A row 1 that mixes numbers and text is such
an error too; one with a missing value (NA) is data, refused at that cell. An
unnamed first column (the row names of R's write.csv, the index of pandas'
to_csv) is an error, not a column of data.
"""
import csv
import io
import math
import os
import re

import numpy as np

# cells that tools write for a missing value: never a column name
MISSING = {"", "na", "n/a", "#n/a", "nan", "-nan", "null", "none", "?"}
HEADER_FLAGS = "pass --header if row 1 holds column names, --no-header if it is data"


class InputError(Exception):
    """Bad input: printed as 'minimi <command>: error: ...' with exit code 2."""


def check_file(path):
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"{path}: is a folder, not a file")
    if not os.path.isfile(path):
        raise InputError(f"{path}: is not a regular file")


def read_table(path, header=None):
    """An (n, d) float array from a .npy or .csv/.tsv/.txt file. header: None (detect),
    True (row 1 holds names) or False (row 1 is data); CSV only."""
    check_file(path)
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npy":
        try:
            a = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise InputError(f"{path}: not a readable .npy array ({error})") from None
        if a.dtype.kind not in "biuf":
            raise InputError(f"{path}: the array holds {a.dtype}, not numbers")
        return a
    if ext in (".csv", ".txt", ".tsv"):
        return read_csv(path, "\t" if ext == ".tsv" else ",", header)
    raise InputError(f"{path}: unknown file type {ext or '(none)'}: use .npy or .csv")


def read_csv(path, delimiter=",", header=None):
    rows = csv_rows(path, delimiter)
    start = 1 if header_row(path, rows, header) else 0
    width = len(rows[0])
    values = []
    for i, row in enumerate(rows[start:], start=start + 1):
        if len(row) != width:
            raise InputError(f"{path}: row {i} has {len(row)} columns, the first row has {width}")
        values.append([cell_value(path, i, j, cell) for j, cell in enumerate(row, start=1)])
    if not values:
        raise InputError(f"{path}: a header row but no data")
    return np.array(values)


def csv_rows(path, delimiter=","):
    """The rows of a CSV file that are not blank, a byte-order mark dropped; an empty
    file, or one that is not UTF-8 text, is an InputError."""
    check_file(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text (byte {error.start + 1} is "
                         f"{error.object[error.start:error.start + 1]!r}); save it as UTF-8 "
                         "(Excel: 'CSV UTF-8')") from None
    rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)
            if any(c.strip() for c in row)]
    if not rows:
        raise InputError(f"{path}: the file is empty")
    return rows


def header_row(path, rows, header=None):
    """True when row 1 holds column names: `header` when given, else detected, and an
    InputError when row 1 could be either."""
    first = [c.strip() for c in rows[0]]
    if header is None:
        numbers = [is_number(c) for c in first]
        if all(numbers):
            if not _column_numbers(first):
                return False
            if all(c.strip().lstrip("-").isdigit() for row in rows[1:] for c in row):
                raise InputError(f"{path}: row 1 ({','.join(first)}) may be a header of column "
                                 f"numbers, as pandas writes for unnamed columns, or data: "
                                 f"{HEADER_FLAGS}")
            return True               # pandas' header over data written as decimals
        if any(c.lower() in MISSING for c in first[1:]) or \
                (first[0].lower() in MISSING and first[0] != ""):
            return False              # a missing value in row 1: data, refused cell by cell
        if any(numbers):
            raise InputError(f"{path}: row 1 mixes numbers and text ({','.join(first)}): "
                             f"{HEADER_FLAGS}")
        header = True
    if header and first[0] == "" and len(first) > 1:
        raise InputError(f"{path}: the first column has no name: it holds row names (R's "
                         "write.csv) or an index (pandas' to_csv), not data; write the file "
                         "without it (row.names=FALSE, index=False)")
    return bool(header)


def _column_numbers(cells):
    """Cells '0', '1', ..., 'd−1': the header pandas writes for unnamed columns."""
    return cells == [str(i) for i in range(len(cells))]


# What spreadsheets, pandas, R and NumPy write for a number: decimals with an optional
# sign and exponent (1, -0.5, .5, 1e-05, 1.2E+10), and inf/nan words. Python's float()
# also takes 1_000 and other scripts' digits, which no such tool writes in a CSV.
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|infinity|nan)",
                    re.IGNORECASE | re.ASCII)


def is_number(cell):
    return NUMBER.fullmatch(cell.strip()) is not None


def cell_value(path, row, column, cell):
    """A cell's value; one that is not a finite number is an InputError naming its file,
    row and column (counted from 1, as the file's lines are)."""
    if not is_number(cell):
        hint = (" (if row 1 holds column names, pass --header)" if row == 1 else
                " (write numbers without separators: 1000 or 1.5, not 1,000 or 1_000)"
                if re.search(r"\d[_,' ]\d", cell.strip()) else "")
        raise InputError(f"{path}: row {row}, column {column}: {cell.strip()!r} is not a "
                         f"number{hint}")
    value = float(cell)
    if not math.isfinite(value):
        raise InputError(f"{path}: row {row}, column {column}: {cell.strip()!r} is not a "
                         "finite number")
    return value
