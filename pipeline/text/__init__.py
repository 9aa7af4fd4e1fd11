"""The text of a transcript: speakers, segmentation and the anonymisation check."""
