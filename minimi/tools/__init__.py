"""What users run and read around the engine and the estimator: the `minimi` command
(cli.py), the doctor, PNG figures with Pillow (plot.py), users' tables (tables.py),
the adapter for bmi's benchmark (bmi_adapter.py), process tuning (tuning.py) and
per-op timings (profile.py).

The top layer: it may import anything of minimi; nothing in minimi.engine, the
bounds, the critics or the estimator imports it (tests/packaging checks).
"""
