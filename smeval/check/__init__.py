"""``smeval check``: a recipe's options and every input it would read, checked before a run."""
