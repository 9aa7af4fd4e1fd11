"""Topic words: stop words, interview fillers, lemmas and the n-grams counted.

Topic words come from c-TF-IDF over spaCy lemmas with English stop words and
interview fillers removed ("yeah", "um", "you know", "kind of", ...). Each
segment's lemmas end with :data:`SEGMENT_END`, so that no word pair runs from
one segment into the next when BERTopic joins a topic's segments.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

INTERVIEW_FILLERS = (
    "yeah", "yes", "yep", "no", "um", "uh", "erm", "er", "ah", "oh", "hmm", "mm", "mhm",
    "okay", "ok", "right", "well", "like", "just", "really", "actually", "basically",
    "literally", "obviously", "probably", "maybe", "gonna", "wanna", "kinda", "sorta",
    "thing", "things", "stuff", "lot", "lots", "bit", "think", "know", "mean", "guess",
    "suppose", "say", "said", "got", "get", "go", "going", "want", "sure", "quite",
    "pretty", "way", "kind", "sort", "does", "did", "do", "let", "tell",
    # remnants of contractions typed without an apostrophe
    "ve", "ll", "re", "don", "didn", "doesn", "isn", "wasn", "couldn", "wouldn",
    "shouldn", "won", "im", "ive", "dont", "didnt", "cant", "wont", "thats", "theyre",
)  # fmt: skip
"""Single words removed from topic words on top of English stop words."""

FILLER_PHRASES = (
    "you know", "kind of", "sort of", "i mean", "i guess", "i suppose", "i think",
    "a bit", "a lot", "at the end of the day", "to be honest", "and so on",
)  # fmt: skip
"""Phrases removed from the text before topic words are counted."""


def stop_words(extra: Sequence[str] = ()) -> list[str]:
    """English stop words, interview fillers and ``extra``, sorted."""
    # heavy: kept out of start-up
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(
        set(ENGLISH_STOP_WORDS) | set(INTERVIEW_FILLERS) | {w.lower() for w in extra}
    )


_FILLER_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(p) for p in FILLER_PHRASES) + r")\b"
)
_WORD_RE = re.compile(r"(?u)\b[^\W\d_][^\W\d_]+\b")
SEGMENT_END = " xsegmentendx "
"""Appended to each segment's lemmas: BERTopic joins a topic's segments into one
text, and n-grams must not run from one segment into the next. (Letters only:
BERTopic strips punctuation before counting words.)"""
_MARKER = SEGMENT_END.strip()


class SegmentAnalyzer:
    """Words and word pairs of each segment, stop words left out.

    A CountVectorizer analyzer. Unlike CountVectorizer's own analyzer, it
    never makes a word pair across the :data:`SEGMENT_END` marker between two
    segments.

    Args:
        stop_words: Words to leave out.
        ngram_range: Smallest and largest n-gram.
    """

    def __init__(
        self, stop_words: Sequence[str], ngram_range: tuple[int, int] = (1, 2)
    ) -> None:
        self.stop_words = frozenset(stop_words)
        self.ngram_range = ngram_range

    def __call__(self, text: str) -> list[str]:
        """Return the n-grams of ``text`` (grouped by n, as counts need no order)."""
        low, high = self.ngram_range
        words = _WORD_RE.findall(text.lower())
        # the segment marker is never a word nor part of a pair; n-grams are of
        # words that stand together in the text, never made by dropping the
        # stop words between them
        keep = [w not in self.stop_words and w != _MARKER for w in words]
        grams: list[str] = []
        for n in range(low, high + 1):
            if n == 1:
                grams.extend(w for w, k in zip(words, keep, strict=True) if k)
            elif n == 2:
                grams.extend(
                    f"{a} {b}"
                    for a, b, keep_a, keep_b in zip(
                        words, words[1:], keep, keep[1:], strict=False
                    )
                    if keep_a and keep_b
                )
            else:
                grams.extend(
                    " ".join(words[i : i + n])
                    for i in range(len(words) - n + 1)
                    if all(keep[i : i + n])
                )
        return grams


def topic_word_vectorizer(extra_stop_words: Sequence[str] = ()):
    """The CountVectorizer topic words are counted with (see :class:`SegmentAnalyzer`).

    Args:
        extra_stop_words: Words to leave out on top of :func:`stop_words`.
    """
    # heavy: kept out of start-up
    from sklearn.feature_extraction.text import CountVectorizer

    return CountVectorizer(analyzer=SegmentAnalyzer(stop_words(extra_stop_words)))


def lemmatize(
    texts: Sequence[str], *, spacy_model: str | None, batch_size: int = 512
) -> list[str]:
    """Lower-case lemmas of the alphabetic words of each text, filler phrases removed.

    Args:
        texts: Segment texts.
        spacy_model: A spaCy package with a lemmatizer, or None to keep the
            lower-cased words as they are (fast, for tests).
        batch_size: Texts per spaCy batch.

    Returns:
        One space-separated string of lemmas per text.
    """
    if spacy_model is None:
        words = (
            re.findall(r"[^\W\d_]+(?:'[^\W\d_]+)?", text.lower()) for text in texts
        )
        return [_FILLER_RE.sub(" ", " ".join(w)) for w in words]
    # heavy: kept out of start-up
    import spacy

    nlp = spacy.load(spacy_model, exclude=["parser", "ner", "senter"])
    distinct = list(dict.fromkeys(texts))  # repeated texts are lemmatised once
    lemmas = {}
    for text, doc in zip(distinct, nlp.pipe(distinct, batch_size=batch_size)):
        lemmas[text] = _FILLER_RE.sub(
            " ", " ".join(t.lemma_.lower() for t in doc if t.is_alpha)
        )
    return [lemmas[text] for text in texts]
