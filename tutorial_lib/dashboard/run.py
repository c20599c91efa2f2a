"""A training dashboard with a Run button beside Train and Stop: the base of the Part 4 and Part 5
dashboards, which run an experiment on the trained network (:mod:`.perturbation`, :mod:`.attractors`)."""

from __future__ import annotations

import ipywidgets as widgets

from .base import TrainingDashboard

__all__ = ["RunDashboard"]


class RunDashboard(TrainingDashboard):
    """A :class:`~.base.TrainingDashboard` with a Run button: Run runs the dashboard's experiment on the
    network (``mode="run"``), Train trains it further (``mode="train"``), Stop stops either.

    A subclass calls :meth:`_add_run_button` after ``super().__init__`` and reads ``self._mode`` in
    its ``_train`` (the work of the background thread); :meth:`_after_run` tidies up after either.
    """

    def _add_run_button(self, tooltip: str, train_tooltip: str) -> None:
        """The Run button, first in the row of Train and Stop (with their tooltips)."""
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="bolt", tooltip=tooltip)
        self.run_button.on_click(lambda _: self.run())
        self.train_button.tooltip = train_tooltip
        buttons = self.widget.children[0].children[-3]  # the HBox of Train and Stop (base layout)
        buttons.children = (self.run_button, *buttons.children)
        buttons.add_class("rls-wide")  # three buttons: a row of their own when the controls go above the figure
        self.widget.add_class("rls-balanced")  # browser tests allow for the network build (dashboard_checks)

    def run(self, block: bool = False):
        """Run the experiment with the current settings (the Run button). ``block`` waits for the end."""
        self.start(block, mode="run")

    def start(self, block: bool = False, mode: str = "train"):
        """Train (``mode="train"``: the Train button) or run the experiment (``"run"``) in a thread."""
        if mode not in ("train", "run"):
            raise ValueError(f"mode must be 'train' or 'run' (got {mode!r})")
        if self.running:
            return
        self._mode = mode
        self.run_button.disabled = True
        super().start(block=False)
        if not self.running:  # refused (an invalid setting is shown)
            self.run_button.disabled = False
        if block:
            self.wait()

    def _run(self, params):
        try:
            super()._run(params)
        finally:
            self.run_button.disabled = False
            self._after_run()

    def _after_run(self) -> None:
        """After a run or a training, whatever its end (in the background thread): nothing here."""
