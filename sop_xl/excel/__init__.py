"""The Excel adapter: the only package of sop_xl that imports xlwings.

- :mod:`sop_xl.excel.udfs`: the ``=SOP_...`` worksheet functions (xlwings UDFs).
- :mod:`sop_xl.excel.ribbon`: the S&OP ribbon tab's macros.
- :mod:`sop_xl.excel.xlbook`: the open workbook as a :class:`sop_xl.model.book.Book`.
- :mod:`sop_xl.excel.build`: builds the ``.xlsm`` / ``.xlam`` on any OS.

Importing this package does not import xlwings; each module does so itself.
"""
