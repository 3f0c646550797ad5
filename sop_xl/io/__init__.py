"""Files: the guard for untrusted workbooks, the calamine reader, the part-level writer,
FileBook, the template.
"""
