"""Verifiable-constraint augmentation: a record's instruction gains one to three constraints a
checker can verify (a case, a length, keywords, a format, an ending, ...), and its response is
made to satisfy them, then checked with the same strict checkers as the IF eval.

    from instructune.augment.augmenter import Augmenter
    aug = Augmenter(settings, generator=None)          # settings: ConstraintAugmentConfig
    outcome = aug.augment(record)                      # .record (verified) or .dropped (a reason)

Three ways to make a response comply (`types.py` says which each type uses):
- as it is: the constraint is drawn from the response (a keyword it contains, a word bound it
  meets), so the original response already satisfies it;
- transformed: the response is rewritten mechanically (lowercased, wrapped in quotes, split
  into sections, given a title or a postscript, ...), only where that keeps it honest;
- generated: the generator answers the constrained instruction; the first answer that passes
  every check is kept (with a cap on attempts).

The idea of adding verifiable constraints to real instructions and training only on responses
that provably satisfy them comes from recent open post-training recipes (IFEval-style
constraints in the instruction-following data of Tülu 3, for instance); the phrasings,
transformations and code here are our own.
"""
