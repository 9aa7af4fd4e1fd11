"""Knowledge networks: the sources each participant draws on, found in their speech.

Mentions of people (by role), programmes, networks of practice, communities
of practice and written sources are found with spaCy and a researcher-editable
gazetteer (``config/network_gazetteer.yaml``), dismissed when the speech
rejects or only names them, resolved into sources, corrected by the
researchers' corrections file, and written as tables, a GraphML network and a
summary per metadata group (``docs/networks.md``).
"""
