"""Device choice, array movement, seeded generators and scatter-add."""
import numpy as np
import pytest

from minimi import backend


def test_unknown_device_is_a_value_error_naming_it():
    with pytest.raises(ValueError, match="'tpu'"):
        backend.use_device("tpu")


def test_unknown_device_from_the_environment(monkeypatch):
    monkeypatch.setattr(backend, "_device", None)
    monkeypatch.setenv("MINIMI_DEVICE", "quantum")
    with pytest.raises(ValueError, match="'quantum'.*MINIMI_DEVICE"):
        backend.device()


@pytest.mark.skipif(backend.gpu_available(), reason="a GPU is available here")
def test_gpu_without_cupy_or_device_is_a_clear_error():
    with pytest.raises(RuntimeError, match="gpu"):
        backend.use_device("gpu")
    assert backend.device() in backend.DEVICES


def test_cupy_older_than_the_floor_is_a_clear_error(monkeypatch):
    class OldCupy:
        __version__ = "13.6.0"
    monkeypatch.setattr(backend, "cp", OldCupy())
    with pytest.raises(RuntimeError, match=r"CuPy 13.6.0 is installed; minimi needs CuPy 14 "
                                           r"or newer.*cupy-cuda12x>=14"):
        backend.use_device("gpu")


def test_use_device_returns_the_previous_one():
    current = backend.device()
    assert backend.use_device("cpu") == current
    backend.use_device(current)


def test_round_trip_to_device_and_back():
    a = np.arange(6.0).reshape(2, 3)
    b = backend.to_device(a)
    assert backend.get_array_module(b) is backend.xp_of()
    np.testing.assert_array_equal(backend.to_numpy(b), a)


def test_seeded_generators_repeat():
    a = backend.random_generator(3).standard_normal(5)
    b = backend.random_generator(3).standard_normal(5)
    np.testing.assert_array_equal(backend.to_numpy(a), backend.to_numpy(b))


def test_scatter_add_adds_repeated_indices():
    xp = backend.xp_of()
    target = xp.zeros(4)
    backend.scatter_add(target, xp.asarray([0, 2, 2, 2]), xp.asarray([1.0, 1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(backend.to_numpy(target), [1.0, 0.0, 6.0, 0.0])


def test_default_dtype_is_float32():
    assert backend.DEFAULT_DTYPE == np.float32


@pytest.mark.parametrize("size, threads", [(10, "2"), (1 << 20, "2"), (1 << 20, "1")])
@pytest.mark.parametrize("block", [None, 3, 64])
def test_parallel_for_covers_the_range_once_in_blocks(monkeypatch, size, threads, block):
    monkeypatch.setenv("MINIMI_THREADS", threads)
    n, seen = 23, []
    backend.parallel_for(n, lambda a, b: seen.append((a, b)), np.zeros(size), block=block)
    covered = sorted(i for a, b in seen for i in range(a, b))
    assert covered == list(range(n))
    assert all(0 < b - a <= (block or n) for a, b in seen)
