"""Quality that holds over length: the panel of measures every long document gets (panel.py),
the units it measures (units.py), its encoders, its lexical and order checks, the controlled
corruptions it is calibrated on (corrupt.py, labelled.py), and a pairwise judge built on it (judge.py).

One scoring core: evals report it, data filters and rewards use it, the `panel` judge compares with it.
"""

from .panel import GRADES, VERSION, measure, score

__all__ = ["GRADES", "VERSION", "measure", "score"]
