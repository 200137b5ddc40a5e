"""Every setting of minimi.estimate with its default, written once.

The API (`minimi.estimate(x, y, steps=2000)`), the command line (`--steps 2000`,
built from the help texts below) and the benchmarks all read them from here.

    Settings()                     # the defaults
    Settings(bound="nwj").check()  # every value checked; the error names the setting
"""
import dataclasses
from statistics import StatisticsError

from .. import bounds
from ..engine import checks
from ..engine.layers import ACTIVATIONS
from .inputs import MARGINALS
from .interval import z_value

CRITICS = ("auto", "separable", "concat")
# Each critic's settings where they are left None. The concat critic scores every pair of
# its batch through an MLP, so its batch is smaller; docs/estimator.md has the measurements.
CRITIC_DEFAULTS = {"separable": {"hidden": (128, 128), "batch_size": 256, "lr": 2e-3},
                   "concat": {"hidden": (64, 32), "batch_size": 64, "lr": 5e-3}}
# all pairs of a split up to this many, else a random sample per row (heldout.py)
DEFAULT_MAX_PAIRS = {"separable": 1 << 24, "concat": 1 << 20}


def _setting(default, help, choices=None):
    return dataclasses.field(default=default, metadata={"help": help, "choices": choices})


@dataclasses.dataclass(frozen=True)
class Settings:
    """How minimi.estimate trains and scores its critic."""

    bound: str = _setting("infonce",
                          f"the bound that trains the critic: {', '.join(bounds.BOUNDS)}")
    critic: str = _setting("auto", "auto: concat when x and y have one column each, else "
                                   "separable; separable: g(x)·h(y), fast; concat: an MLP on "
                                   "[x; y]", CRITICS)
    hidden: tuple = _setting(None, "the critic's hidden layer sizes (default: 128,128 "
                                   "separable; 64,32 concat)")
    embed_dim: int = _setting(32, "the separable critic's embedding size")
    activation: str = _setting("softplus", "the separable critic's activation",
                               tuple(ACTIVATIONS))
    steps: int = _setting(5000, "the most training steps")
    batch_size: int = _setting(None, "training rows per step (default: 256 separable; 64 "
                                     "concat)")
    lr: float = _setting(None, "Adam's learning rate (default: 0.002 separable; 0.005 concat)")
    lam: float = _setting(None, "λ of a regularized bound (default: the bound's)")
    target: float = _setting(None, "C of a regularized bound (default: the bound's)")
    tau: float = _setting(None, "the clip of SMILE-type bounds (default: the bound's)")
    seed: int = _setting(0, "seed of the split, the critic's weights and the batches")
    test_fraction: float = _setting(0.2, "rows held out for the reported estimate")
    validation_fraction: float = _setting(0.2, "of the other rows, those that choose the "
                                               "checkpoint")
    marginals: str = _setting("rank", "rank: normal scores of each column's ranks; standard: "
                                      "centre and scale; none", MARGINALS)
    eval_every: int = _setting(50, "steps between validation scores")
    patience: int = _setting(10, "stop after this many validation scores without a gain "
                                 "beyond their noise")
    subsamples: int = _setting(2, "for the interval the rows are also split into this many "
                                  "disjoint parts, each estimated on its own (1: none; the "
                                  "interval then covers only the test rows' noise, flagged)")
    ci_level: float = _setting(0.95, "the interval's confidence level")
    max_pairs: int = _setting(None, "held-out pairs scored per split (default: 2^24 separable, "
                                    "2^20 concat; beyond it a random sample per row)")

    @classmethod
    def of(cls, settings=None, **changes):
        """`settings` (or the defaults) with `changes`; a name that is not a setting is
        a TypeError that lists the settings."""
        if settings is not None and not isinstance(settings, cls):
            raise TypeError(f"settings must be a minimi.Settings or None, got {settings!r}; "
                            "single settings go by name: estimate(x, y, bound='nwj')")
        unknown = [name for name in changes if name not in cls.names()]
        if unknown:
            raise TypeError(f"unknown setting(s) {', '.join(map(repr, unknown))}: the settings "
                            f"are {', '.join(cls.names())}")
        return dataclasses.replace(settings or cls(), **changes)

    @classmethod
    def names(cls):
        return [f.name for f in dataclasses.fields(cls)]

    def bound_params(self):
        """{lam, target, tau} that were given, for bounds.make."""
        return {k: getattr(self, k) for k in ("lam", "target", "tau")
                if getattr(self, k) is not None}

    def for_columns(self, dx, dy):
        """The settings for x with dx columns and y with dy: critic='auto' chosen, and
        the chosen critic's defaults (CRITIC_DEFAULTS) for the settings left None."""
        critic = self.critic
        if critic == "auto":
            critic = "concat" if dx == 1 and dy == 1 else "separable"
        if critic == "concat" and self.hidden == ():
            raise ValueError("hidden=(): the concat critic needs at least one hidden layer"
                             + (" (critic='auto' picks it when x and y have one column each)"
                                if self.critic == "auto" else ""))
        left = {k: v for k, v in CRITIC_DEFAULTS[critic].items() if getattr(self, k) is None}
        return dataclasses.replace(self, critic=critic, **left)

    def pairs_budget(self):
        """Held-out pairs scored per split (after for_columns: the critic is chosen)."""
        return DEFAULT_MAX_PAIRS[self.critic] if self.max_pairs is None else self.max_pairs

    def check(self):
        """Every value checked (the error names the setting and its value); returns the
        settings with `hidden` as a tuple."""
        checks.choice("bound", self.bound, tuple(bounds.BOUNDS))
        checks.choice("critic", self.critic, CRITICS)
        checks.choice("marginals", self.marginals, MARGINALS)
        checks.choice("activation", self.activation, tuple(ACTIVATIONS))
        takes = bounds.parameters(self.bound)          # an unknown name is an error there
        for name in self.bound_params():
            if name not in takes:
                users = [b for b in bounds.BOUNDS if name in bounds.parameters(b)]
                default = " (the default)" if self.bound == Settings.bound else ""
                raise ValueError(f"{name} is a setting of the bounds {', '.join(users)}, not of "
                                 f"{self.bound}{default}: choose one of those bounds with it, "
                                 f"or leave {name} out")
        bounds.checked(self.bound, **self.bound_params())  # the values; training builds it
        hidden = self.hidden
        if hidden is not None:
            if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
                raise ValueError(f"hidden must be a sequence of layer sizes such as (128, 128), "
                                 f"got {hidden!r}")
            hidden = tuple(hidden)
            for i, size in enumerate(hidden):
                checks.integer(f"hidden[{i}]", size, minimum=1)
        optional = {"batch_size": 2, "max_pairs": 1}   # None: the critic's default
        for name, minimum in (("steps", 1), ("embed_dim", 1), ("eval_every", 1),
                              ("patience", 1), ("seed", 0), ("subsamples", 1),
                              *optional.items()):
            if getattr(self, name) is not None or name not in optional:
                checks.integer(name, getattr(self, name), minimum=minimum)
        if self.lr is not None:
            checks.number("lr", self.lr, above=0)
        for name in ("test_fraction", "validation_fraction", "ci_level"):
            checks.number(name, getattr(self, name), above=0, below=1)
        try:
            z_value(self.ci_level)
        except StatisticsError:  # (1 + level) / 2 rounds to 1: the interval would be infinite
            raise ValueError(f"ci_level must be far enough below 1 that its interval is "
                             f"finite in floating point, got {self.ci_level!r}") from None
        return dataclasses.replace(self, hidden=hidden)
