"""Finance variances reconciled to the cent: G/L mapping, plan comparison, price/volume/mix,
sheets.
"""
