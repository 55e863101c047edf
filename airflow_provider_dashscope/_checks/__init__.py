"""Checks of what a DAG author passes, before any request: task arguments (:mod:`.arguments`), hyper-parameters
(:mod:`.hyper_parameters`) and a local file before its upload (:mod:`.training_file`, with the training data
formats in :mod:`.training_formats`). Each error names the field and the fix."""
