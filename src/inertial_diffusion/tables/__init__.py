"""Tables as people have them: typed columns in (continuous, integer, boolean, categorical, datetime, missing
values), a float matrix for the posterior, and samples back as a table with the same columns and dtypes.

:mod:`~inertial_diffusion.tables.columns` reads each column's type; :mod:`~inertial_diffusion.tables.encoder`
encodes and decodes. The estimators fit a :class:`~inertial_diffusion.tables.encoder.TableEncoder` when given a
pandas DataFrame; the command line reads csv/tsv/parquet files into one.
"""
