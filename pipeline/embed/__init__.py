"""Segment embeddings: the embedders, their content cache and the ONNX fast path."""
