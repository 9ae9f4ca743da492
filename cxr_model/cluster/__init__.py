"""Archive-scale scans on a Ray cluster (the optional `cluster` extra: `ray[data]`).

`engine.ray_scan` yields the same rows as `cxr_model.inference.scan.scan`, computed by a pool
of Ray actors that each hold one model; `parquet.ParquetSink` writes rows as parquet. Only
`cxr scan --engine ray` and `--out FILE.parquet` import this package: the app never does, and
the app bundle leaves Ray out.
"""
