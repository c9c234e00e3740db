"""Encoders: the shared sentence encoder (text.py) and MOTE, the motivation/trait encoder.

MOTE puts users and items in one space. Items: a trait vector from the frozen MiniLM embedding
of their text (title, genres or categories, description) plus an optional item-id embedding.
Users: attention over their notes with a learned recency decay, so recent notes weigh more.

Where the training signal comes from: every training example is a (history prefix, next item)
pair of the training split, and the notes are the prefix's items' text. MOPE's LLM notes are
not used in training at all (0% of the signal): a profile is written from the user's visible
history at test time, whose last items are the validation target and the training tail, so
training or validating on them would leak. The notes enter at test time only
(`MoteRecommender.use_notes`), after the user's history items, as their most recent notes.

Modules: mote.py (nn.Modules), training.py (InfoNCE loop), checkpoint.py, notes.py (store
reader), recommender.py (the harness model `mote`), config.py, errors.py. Importing this
package loads nothing.
"""
