"""No file minimi reads can run code. A pickle names the functions to call while it
loads; each input path gets files whose loading would call one (create a marker
file, or run a shell command that does), and must refuse them, naming the file,
with the marker never created."""
import builtins
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from cifar_files import rewrite, write_cifar10
from grids import CIFAR_TINY, ckpt, tiny

import minimi as mm
from bench.grid import commandline
from bench.paper import cifar
from minimi.data.cifar import CifarError, load_cifar
from minimi.tools import cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Planted:
    """Unpickling this calls call(*args)."""

    def __init__(self, call, args):
        self.call, self.args = call, args

    def __reduce__(self):
        return self.call, self.args


def planted(marker, how):
    """A payload whose unpickling creates `marker`: by open() or by a shell command."""
    if how == "open":
        return Planted(builtins.open, (str(marker), "w"))
    return Planted(os.system, (f"touch {marker}",))


HOW = ["open", "shell"]


def _global_of(how):
    call = builtins.open if how == "open" else os.system
    return f"{pickle.whichmodule(call, call.__name__)}.{call.__name__}"


# ---- --data: the CIFAR pickles -----------------------------------------------------------------

@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("protocol", [2, 4])
def test_a_crafted_cifar_pickle_is_refused_naming_the_global(tmp_path, how, protocol):
    folder = write_cifar10(str(tmp_path / "data"))
    marker = tmp_path / "PWNED"
    path = os.path.join(folder, "data_batch_2")
    with open(path, "wb") as f:
        pickle.dump({b"data": planted(marker, how), b"labels": [0] * 20}, f, protocol=protocol)
    with pytest.raises(CifarError) as error:
        load_cifar(folder, "cifar10")
    assert str(error.value).startswith(f"{path}: refused to load")
    assert _global_of(how) in str(error.value)
    assert not marker.exists()


def test_the_official_layout_still_loads_in_every_protocol(tmp_path):
    """Python 2-style (protocol 2, bytes via _codecs) up to protocol 5 (arrays by
    _frombuffer): the arrays come back equal."""
    folder = write_cifar10(str(tmp_path / "data"))
    want = load_cifar(folder, "cifar10")
    for protocol in (2, 3, 4, 5):
        for name in ("data_batch_1", "test_batch"):
            rewrite(os.path.join(folder, name), protocol=protocol)
        got = load_cifar(folder, "cifar10")
        np.testing.assert_array_equal(got.train_images, want.train_images)
        np.testing.assert_array_equal(got.test_labels, want.test_labels)


def test_bench_slb_on_a_crafted_folder_exits_2_and_runs_nothing(tmp_path):
    """The command from the report: a named refusal, exit 2, no marker."""
    folder = write_cifar10(str(tmp_path / "EVIL"))
    marker = tmp_path / "PWNED"
    for name in os.listdir(folder):
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump(planted(marker, "shell"), f, protocol=2)
    run = subprocess.run([sys.executable, "-m", "bench", "slb", "--data", str(tmp_path / "EVIL"),
                          "--train-subset", "100", "--epochs", "1", "--losses", "mine",
                          "--out", str(tmp_path / "OUT")], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 2
    assert "refused to load" in run.stderr and _global_of("shell") in run.stderr
    assert not marker.exists()


# ---- checkpoints, run files, Module.load, the estimate command's files ----------------------

def _object_npz(path, marker, how):
    """An .npz whose array is an object array: np.savez pickles the payload into it."""
    payload = np.empty(1, dtype=object)
    payload[0] = planted(marker, how)
    np.savez(path, state=payload)


@pytest.mark.parametrize("how", HOW)
def test_a_crafted_cifar_checkpoint_is_refused(tmp_path, how):
    folder = write_cifar10(str(tmp_path / "data"))
    out, marker = str(tmp_path / "out"), tmp_path / "PWNED"
    os.makedirs(os.path.dirname(ckpt(out)))
    with open(ckpt(out), "wb") as f:
        _object_npz(f, marker, how)
    with pytest.raises(commandline.BadInput, match=f"{ckpt(out)}: unreadable checkpoint"):
        cifar.main(["--data", folder, "--out", out, *CIFAR_TINY])
    assert not marker.exists()


@pytest.mark.parametrize("how", HOW)
def test_a_pickle_in_place_of_a_run_file_is_refused(tmp_path, how):
    tiny(tmp_path, losses="mine")
    path, marker = tmp_path / "onehot/batch8/mine/seed0.json", tmp_path / "PWNED"
    path.write_bytes(pickle.dumps(planted(marker, how), protocol=2))
    with pytest.raises(commandline.BadInput, match=f"{path}: unreadable run file"):
        tiny(tmp_path, losses="mine")
    assert not marker.exists()


@pytest.mark.parametrize("how", HOW)
def test_module_load_refuses_pickled_arrays(tmp_path, how):
    path, marker = tmp_path / "weights.npz", tmp_path / "PWNED"
    _object_npz(path, marker, how)
    with pytest.raises(ValueError, match=f"checkpoint {path}: not a readable .npz"):
        mm.Linear(2, 2).load(str(path))
    assert not marker.exists()


@pytest.mark.parametrize("how", HOW)
def test_the_estimate_command_refuses_pickled_arrays(tmp_path, capsys, how):
    marker = tmp_path / "PWNED"
    x = np.empty(60, dtype=object)
    x[0] = planted(marker, how)
    np.save(tmp_path / "x.npy", x)                         # pickles the object array
    np.save(tmp_path / "y.npy", np.zeros(60))
    code = cli.main(["estimate", str(tmp_path / "x.npy"), str(tmp_path / "y.npy")])
    assert code == cli.EXIT_BAD_INPUT
    assert f"{tmp_path / 'x.npy'}: not a readable .npy array" in capsys.readouterr().err
    assert not marker.exists()
