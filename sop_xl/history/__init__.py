"""Plan history: the forecast archive, the statistical baseline, accuracy by lag, the forecast
value added stairstep and actions carried from cycle to cycle (issue 13).

An engine package: it imports only :mod:`sop_xl.model`, :mod:`sop_xl.errors`, the forecast KPI
functions of :mod:`sop_xl.kpi.forecast`, numpy, pandas and statsmodels. Reading snapshots (verify,
then open) is the cycle layer's job (:func:`sop_xl.cycle.history`).
"""
