"""The landing zone without Dagster: what a landed file must look like, where it goes, and when to retrain.

Layout under the landing prefix of the lake (a folder on the embedded default, `s3://bucket/<lake>/landing/` in
production), all reached through the lake's `ObjectStore` interface:

    train/<name>.csv|.parquet      labeled batches (13 predictors + BodyFat, Density optional)
    score/<name>.csv|.parquet      unlabeled scoring batches (13 predictors, optional `id`)
    processed/<kind>/<partition>.<ext>      the file, once ingested (or scored)
    rejected/<kind>/<stamp>-<name>          a file that failed validation
    rejected/<kind>/<stamp>-<name>.reason.json   why

Modules: `naming` (kinds, partition keys, content hashes, where files go), `validation` (reading and checking one
file), `cursor` (listing → new objects), `intake` (the sensor's decision for each new object), `moves` (copy,
verify, delete; rejection), `partition_file` (the file behind a run's partition), `rows` (a file as rows),
`retrain` (the retraining debounce). The sensors and assets in
`bodyfat_assets/defs/` read their inputs, call one function here, and write metadata.
"""
