"""Speed: the training steps of the critics and the SmallCNN and the default estimate
(steps.py, `python -m bench speed`), conv2d's input gradient two ways (col2im.py), the
timing helpers both use (timing.py), and the summary of stored speed runs (summary.py)."""
