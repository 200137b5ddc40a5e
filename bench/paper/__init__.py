"""The paper's studies: the one-hot instability study (onehot.py) and its C* sweep
(cstar.py), the Gaussian staircase (gaussian.py), and the CIFAR benchmarks, Table 2 and
Fig. 6 (cifar.py, their tables and figures in cifar_report.py)."""
