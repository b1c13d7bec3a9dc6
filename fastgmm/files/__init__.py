"""Files (internal): the model file (`model`: the format; `atomic`: written
whole or not at all; `estimator`: a fitted mixture <-> its arrays) and the
command line's data files (`data`: read by format, stdin; `dataset`: what a
file becomes; `text`, `parquet`: the readers)."""
