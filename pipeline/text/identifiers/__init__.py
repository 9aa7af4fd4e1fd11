"""Check transcripts for direct identifiers left in the speech; report, redact or block.

The transcripts this project analyses should arrive anonymised: people, trusts
and hospitals replaced by placeholders such as ``[Name]`` or ``[Trust A]``. This
stage checks that nothing slipped through. It looks only at the speech of each
turn (``text[turn.start:turn.end]``), never at speaker labels, and finds:

- ``EMAIL``, ``URL``, ``PHONE`` (UK and North American numbers),
  ``POSTCODE`` (full UK postcodes, Canadian postal codes, US ZIP codes after
  a state or a street address), ``NHS_NUMBER`` (ten digits with a valid
  modulus-11 check digit), ``NI_NUMBER`` (National Insurance numbers with an
  allowed prefix), ``SSN`` (US Social Security numbers of an issued shape),
  ``SIN`` (Canadian Social Insurance Numbers with a valid Luhn check digit)
  and ``DATE_OF_BIRTH`` (a date next to "born", "DOB", "date of birth" or
  "birthday"), with regular expressions; under ``redact`` and ``block``
  (recall first) also any string of the right shape just after its cue
  ("NHS number", "NI number", "SSN", "SIN", "mobile", "DOB"...), valid or not;
- ``PERSON``, ``PLACE`` and ``ORGANISATION`` with spaCy's named-entity
  recogniser, helped by a few name patterns ("Dr Patel", "a nurse called
  Jo Bloggs", "I spoke to Sam Lee").

Never flagged: placeholders (anything in square, angle or curly brackets,
``[Name]``, ``<PERSON>``, ``{name}``, and masks such as ``X``, ``XXX`` or
``***``, also after a title or a role: "Dr X", "Participant X"), the terms of
the built-in lists chosen in ``AnonymiseConfig.allowlist_groups`` (NHS terms;
funders, review boards and regulators; platforms and software; countries and
states) and the terms of ``AnonymiseConfig.allowlist``.

A ``Finding`` records where an identifier is and what kind it is, never the
identifier itself, so findings can be logged, stored and shown safely. A
``FindingsCache`` (the results store is one) keeps each document's findings
under a key of its speech and the checker (settings, spaCy model version and
this package's code), so a rerun checks only new or changed documents.
``redact`` replaces identifiers with ``[KIND]`` placeholders and returns an
``OffsetMap`` that carries offsets over to the redacted text;
``apply_policy`` applies the ``report``, ``redact`` or ``block`` policy to a
corpus.

Modules: ``findings`` (kinds, findings, merging), ``allowlists`` (what is never
flagged), ``patterns`` and ``validators`` (identifier shapes and check digits),
``pattern_finders`` and ``names`` (the finders), ``checker``
(``IdentifierChecker``), ``redaction`` (``redact``, ``OffsetMap``) and
``policy`` (``apply_policy``, ``check_corpus``).
"""
