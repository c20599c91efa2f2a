r"""The independent random streams of Part 3, all derived from ``params.seed``.

Every random draw of Part 3 comes from ``np.random.default_rng([params.seed, STREAM, ...])``
with one of these stream numbers, so that, for example, changing the number of test trials
never changes the connectivity or the training trials.
"""

from __future__ import annotations


__all__ = [
    "CONNECT",
    "STATIC",
    "SELECT",
    "PLASTIC",
    "TASK",
    "TRAIN",
    "TEST",
]


# Independent random streams, all derived from params.seed
CONNECT, STATIC, SELECT, PLASTIC, TASK, TRAIN, TEST = range(7)
