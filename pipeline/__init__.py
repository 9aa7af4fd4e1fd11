"""transcript-themes: find themes in interview transcripts.

The library behind the ``themes`` command: ingest, anonymisation check,
segmentation, embeddings, topics, codebook classifiers and agreement with human
codes. Pure functions and scikit-learn-style estimators; no Prefect here (the
flows in ``flows/`` wire these steps together).
"""

__version__ = "0.1.0"
