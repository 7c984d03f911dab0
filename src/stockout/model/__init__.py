"""The SimPy model: scenario -> runtime objects -> one run -> RunResult.

Where things live:

- ``build.py``: scenario -> :class:`Model` (stock points, routes, suppliers, lanes, population);
- ``processes.py``: the SimPy processes (customers, reviews, the daily clock, windows);
- ``stockpoint.py``: one product at one location: what happens to orders and stock;
- ``pipeline.py``, ``pipeline_index.py``: shipments on the way and the quotes' question;
- ``supply.py``: suppliers, lanes and routes (when an order placed now arrives): a ``Route``
  from a supplier (and a lane), or a ``Transfer`` from another location's stock point;
- ``windows.py``: outages, closures, spikes; ``demand.py``: customer candidates;
  ``population.py``: the active customers;
- ``recorder.py``: the recorder seam; ``tally.py``: the metrics' recorder (counts and the
  business's demand records); ``metrics.py``, ``demand_record.py``: the metrics, the invariants;
  ``series.py``: time series; ``trace.py``: the story of each order;
- ``run.py``: :func:`simulate`.

Where a new piece goes: an availability policy is a class and a ``POLICIES`` entry in
``stockout/policies/availability.py`` (plus its tagged entry in ``stockout/scenario/schema.py``);
a replenishment rule a class and a ``RULES`` entry in ``stockout/policies/replenishment.py``
(reading the ``RuleContext``; plus its schema entry); a new kind of disruption window is drawn in
``windows.py`` (and declared in the schema), and a disruption with a new effect is a process in
``processes.py`` started by ``build.Model.start``. Your own process or recorder for one run needs
no change here: ``simulate(..., processes=[...], recorder=...)``; nor does a second stocking
location supplied by the main one (``Model.add_location``).
"""

from .build import MAIN, Model
from .recorder import Recorder
from .run import simulate

__all__ = ["MAIN", "Model", "Recorder", "simulate"]
