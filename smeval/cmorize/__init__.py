"""Converters of reanalysis and satellite soil moisture to CMOR (ESMValTool OBS6).

- :mod:`.convert`: ``cmorize(dataset, raw_dir, out_dir, Options(...))``, the
  unit and sign conversions (each stated next to its code with its source);
- :mod:`.readers`: inventories of the distributed formats (ECMWF NetCDF in
  both CDS layouts, ECMWF GRIB incl. reduced Gaussian grids, GLDAS-2, ESA CCI);
- :mod:`.rawformats`: writers of those distributed formats from numpy arrays
  (used by the tests and the sample-archive generator);
- :mod:`.errors`: ``CMORizeError`` and its subclasses;
- :mod:`.cli`: the ``smeval cmorize`` command;
- :mod:`._stream`: month-by-month writing of a CMOR file;
- :mod:`._staging`: locked staging folders, removed by the next run after a crash;
- :mod:`._signals`: SIGINT/SIGTERM handling (never lost, never half-applied).

Files are written with :func:`smeval.cmorio.write_variable`; time series are
streamed month by month (:mod:`._stream`), so memory does not grow with the
number of years converted.
"""
