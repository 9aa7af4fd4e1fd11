"""Topics beyond the codebook.

BERTopic on segment embeddings, and saved topic models.
"""
