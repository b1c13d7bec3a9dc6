"""Files (internal): the model-file format (`model`) and the command line's
data files (`data`: .npy, text, Parquet)."""
