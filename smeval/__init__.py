"""smeval: evaluation of CMIP6 soil moisture against reanalyses.

Reproduces and extends the method of Qiao, Zuo and Xiao (2022),
"Evaluation of Soil Moisture in CMIP6 Simulations", J. Climate,
doi:10.1175/JCLI-D-20-0827.1, as an ESMValCore recipe with diagnostics.

Subpackages
-----------
core
    The science: pure numpy/scipy functions (no I/O, no plotting).
catalogue
    The model catalogue (Tables 1 and 2 of the paper, ``catalogue.yml``).
sample
    The generator of the embedded sample archive.
cmorize
    Converters of ERA5, ERA-Interim, GLDAS-Noah and ESA CCI SM to CMOR/OBS6.
diag
    Helpers of the diagnostic scripts: settings, provenance, output.
plot
    Figures, reading only the results of the diagnostics.
report
    The HTML report, reading only the metrics table and the figures.
"""

__version__ = "0.1.0"
