"""Agreement between auto-codes and human codes.

The measures, and the comparison of a run with the researchers' coding.
"""
