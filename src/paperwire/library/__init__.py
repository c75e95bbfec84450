"""Library files: read BibTeX, CSL JSON, RIS and id lists (formats.py), match their entries to arXiv papers
(match.py), and write papers back out as BibTeX, CSL JSON or RIS."""
