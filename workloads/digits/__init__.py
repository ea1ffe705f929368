"""The digits benchmark: skorch against scikit-learn on scikit-learn's digits, tiled.

data (split, tiles) → models (the registry of rows) → run (timing, repeats) → records (JSON)
→ validation / table / plot.
"""
