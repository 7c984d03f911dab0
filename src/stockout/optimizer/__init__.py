"""Simulation optimisation of stock levels: each policy at its own best stock, with a guarantee.

:mod:`.space` (what is searched, objective, constraints), :mod:`.kn` (Kim & Nelson's KN with
feasibility checks, pure), :mod:`.evaluate` (replications on an executor), :mod:`.search`
(bisection, neighbourhood search, selection), :mod:`.tables`, :mod:`.plan` (the checked inputs,
the result, the errors), :mod:`.folder` (the results folder) and :mod:`.run`
(``stockout.optimize``). See docs/howto-optimize.md.
"""
