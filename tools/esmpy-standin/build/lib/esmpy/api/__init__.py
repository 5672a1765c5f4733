"""Sub-modules mirroring ``esmpy.api`` of the real ESMPy."""
