"""Reading CSV files as Excel, pandas and R write them (minimi/tools/tables.py): every row
read as written, or an error that names the file, the row and the flag that settles it.

The pandas files are the exact text pandas 3.1.1 wrote (to_csv, checked in a
throwaway environment); the Excel and R ones follow those tools' defaults: Excel's
"CSV UTF-8" starts with a byte-order mark and ends lines with CRLF, its plain
"CSV" is Windows-1252; R's write.csv quotes names and writes row names first.
"""
import numpy as np
import pytest

from minimi.tools import cli
from minimi.tools.tables import InputError, read_table

DATA = [[0.5, 1.25], [2.0, -3.5], [4.0, 0.125]]
DATA_TEXT = "0.5,1.25\n2.0,-3.5\n4.0,0.125\n"


def _file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return str(path)


@pytest.mark.parametrize("name, content", [
    ("excel_bom_no_header.csv", b"\xef\xbb\xbf" + DATA_TEXT.replace("\n", "\r\n").encode()),
    ("excel_bom_header.csv", b"\xef\xbb\xbfx,y\r\n" + DATA_TEXT.replace("\n", "\r\n").encode()),
    ("pandas_named.csv", "a,b\n" + DATA_TEXT),
    ("pandas_unnamed_columns.csv", "0,1\n" + DATA_TEXT),          # to_csv(index=False)
    ("pandas_utf8_sig.csv", b"\xef\xbb\xbfa,b\n" + DATA_TEXT.encode()),
    ("r_no_rownames.csv", '"x","y"\n' + DATA_TEXT),                  # write.csv(row.names=FALSE)
    ("numpy_savetxt.csv", DATA_TEXT),
])
def test_every_row_is_read_as_written(tmp_path, name, content):
    np.testing.assert_array_equal(read_table(_file(tmp_path, name, content)), DATA)


def test_a_pandas_series_header_above_decimals_is_a_header(tmp_path):
    path = _file(tmp_path, "series.csv", "0\n0.5\n1.5\n")         # Series.to_csv(index=False)
    np.testing.assert_array_equal(read_table(path), [[0.5], [1.5]])


@pytest.mark.parametrize("name, content, message", [
    # pandas: integer data under its column-number header: could be either
    ("pandas_ints.csv", "0,1\n1,4\n2,0\n3,3\n", r"row 1 \(0,1\) may be a header"),
    ("pandas_int_series.csv", "0\n0\n1\n1\n", r"row 1 \(0\) may be a header"),
    # the index / row names as a first column without a name
    ("pandas_index.csv", ",a,b\n0,0.5,1.25\n1,2.0,-3.5\n", "the first column has no name"),
    ("pandas_series_index.csv", ",y\n0,0.5\n1,2.0\n", "the first column has no name"),
    ("r_rownames.csv", '"","x","y"\n"1",0.5,1.25\n"2",2,-3.5\n', "the first column has no name"),
    # a missing value in row 1 is a refused cell, not a header
    ("r_na_first.csv", "NA,1.25\n2.0,-3.5\n", r"row 1, column 1: 'NA' is not a number \(if row 1"),
    ("pandas_nan.csv", "a,b\n1.0,2.0\n,3.0\n", "row 3, column 1: '' is not a number"),
    ("mixed.csv", "x,1\n2.0,-3.5\n", "row 1 mixes numbers and text"),
    ("excel_ansi.csv", "temp\xe9rature,y\n1,2\n".encode("cp1252"),
     r"not UTF-8 text \(byte 5 is b'\\xe9'\); save it as UTF-8"),
])
def test_what_could_be_either_is_an_error_naming_file_row_and_flag(tmp_path, name, content,
                                                                   message):
    path = _file(tmp_path, name, content)
    with pytest.raises(InputError, match=f"{name}: .*{message}"):
        read_table(path)


def test_the_header_flags_settle_it(tmp_path):
    path = _file(tmp_path, "ints.csv", "0,1\n1,4\n2,0\n")
    np.testing.assert_array_equal(read_table(path, header=True), [[1, 4], [2, 0]])
    np.testing.assert_array_equal(read_table(path, header=False), [[0, 1], [1, 4], [2, 0]])
    named = _file(tmp_path, "named.csv", "a,b\n1,2\n")
    with pytest.raises(InputError, match=r"named.csv: row 1, column 1: 'a' is not a number"):
        read_table(named, header=False)


def test_a_folder_named_like_a_file_is_named(tmp_path):
    (tmp_path / "x.csv").mkdir()
    with pytest.raises(InputError, match="x.csv: is a folder, not a file"):
        read_table(str(tmp_path / "x.csv"))


def test_the_command_takes_header_flags(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (80, 2))
    np.save(tmp_path / "x.npy", x.astype(float))
    text = "0,1\n" + "".join(f"{a},{b}\n" for a, b in x)     # integer data: could be either
    y = _file(tmp_path, "y.csv", text)
    assert cli.main(["estimate", str(tmp_path / "x.npy"), y, "--quiet"]) == 2
    assert "pass --header if row 1 holds column names" in capsys.readouterr().err
    # as data, the file has one row more than x.npy; as a header, the rows pair up
    assert cli.main(["estimate", str(tmp_path / "x.npy"), y, "--no-header", "--quiet"]) == 2
    assert "x.npy has 80 rows and" in capsys.readouterr().err
    code = cli.main(["estimate", str(tmp_path / "x.npy"), y, "--header", "--quiet",
                     "--steps", "20", "--eval-every", "10"])
    assert code in (cli.EXIT_OK, cli.EXIT_FLAGGED, cli.EXIT_NO_ESTIMATE)


@pytest.mark.parametrize("command", [["estimate", "missing_x.csv", "missing_y.csv"],
                                     ["bmi", "missing_samples.csv", "2", "1"]])
def test_the_commands_check_every_setting_before_reading_a_file(command, capsys):
    assert cli.main([*command, "--ci-level", "1.5", "--quiet" if command[0] == "estimate"
                     else "--verbose"]) == cli.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "ci_level must be less than 1, got 1.5" in err and "no such file" not in err


@pytest.mark.parametrize("cell", ["1_000", "1,000", "١٢", "0x10", "1.5.2", "50%"])
def test_a_number_no_spreadsheet_writes_is_named_by_row_and_column(tmp_path, cell):
    """Python's float() reads 1_000 and Arabic-Indic digits; no spreadsheet, pandas or R
    writes them in a CSV. A quoted thousands separator is refused, not read as 1000."""
    path = _file(tmp_path, "x.csv", f'a,b\n1.5,2\n3,"{cell}"\n')
    with pytest.raises(InputError, match=rf"x.csv: row 3, column 2: '{cell}' is not a number"):
        read_table(path)


def test_every_number_pandas_writes_is_read(tmp_path):
    """The text pandas 3.1.1 wrote for these values (to_csv, with and without
    float_format='%.3g', in a throwaway environment)."""
    text = ("a,b\n1e-05,1\n10000000000.0,2\n-0.5,3\n123456789.123,4\n0.3333333333333333,5\n"
            "5e-324,6\n1e+300,7\n2.5e-08,8\n1e+22,9\n-1e-310,10\n1.23e+08,11\n7,12\n")
    values = read_table(_file(tmp_path, "pandas.csv", text))
    expected = [1e-05, 1e10, -0.5, 123456789.123, 1 / 3, 5e-324, 1e300, 2.5e-08, 1e22, -1e-310,
                1.23e08, 7.0]
    assert values[:, 0].tolist() == expected and values[:, 1].tolist() == list(range(1, 13))
    # Excel's General format, a sign and spaces around a cell
    excel = read_table(_file(tmp_path, "excel.csv", "x,y\r\n1E-05, +2 \r\n1.23457E+16,.5\r\n"))
    assert excel.tolist() == [[1e-05, 2.0], [1.23457e16, 0.5]]
