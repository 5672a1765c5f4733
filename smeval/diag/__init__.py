"""The diagnostic scripts' modules (one per script in ``diagnostics/``) and their helpers."""
