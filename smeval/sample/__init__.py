"""The sample-archive generator: CMOR-exact CMIP6 files and raw reanalysis files."""
