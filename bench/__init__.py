"""minimi's benchmarks: `python -m bench <name> [options]` (__main__.py lists them).

    paper/   the paper's studies: one-hot and C*, the Gaussian staircase, CIFAR
    truth/   estimates against known truth: our task suite, bmi's tasks, torch-mist
    speed/   training-step and estimate timings, col2im two ways
    grid/    what every grid shares: command line, planning, run records, summaries
    report.py  every summary and figure rebuilt from the run files
    page.py    the results folder as one web page (report --html)

It stands on minimi, the top of its layers; nothing in minimi imports it.
"""
