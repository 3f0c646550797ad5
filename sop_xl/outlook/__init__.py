"""The financial outlook (issue 12, item 3): the realised price and cost basis every report
values planned units at (:mod:`sop_xl.outlook.prices`), and the full-year outlook by G/L account
against the financial and the sales budget, with its volume / price / mix bridge
(docs/outlook.md)."""
