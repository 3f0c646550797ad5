"""The one OOXML layer: package parts, cells, styles, charts, input tables, protection."""
