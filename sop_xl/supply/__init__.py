"""The supply review: projected inventory, rough-cut capacity, backlog and a constrained plan.

Engine modules work on numpy arrays indexed (row, month) where a row is an item at a stocking
location (supplied from the row where the item is made) and months are the planning horizon:
:mod:`inventory` (projections, coverage, safety stock), :mod:`capacity` (load), :mod:`lp` (the
constrained plan, a linear program solved with HiGHS, and the greedy baseline), :mod:`backlog`
(open sales order lines) and :mod:`step` (the cycle step: reads the book, writes the sheets).
Formulas and the LP are written out in docs/supply.md.
"""
