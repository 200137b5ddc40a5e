"""Estimates against known truth: our task suite of distributions with known MI
(distributions.py, run by tasks.py), and bmi's tasks through the released bmi's own
harness beside its estimators and torch-mist's (bmi_tasks.py; bmi_env.py builds their
environments, bmi_worker.py runs inside bmi's, mist_command.py wraps torch-mist)."""
