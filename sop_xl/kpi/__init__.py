"""The KPI engine: the one registry of definitions, forecast accuracy, operations KPIs, the KPI
table.
"""
