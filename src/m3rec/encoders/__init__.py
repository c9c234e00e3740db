"""Encoders: the shared sentence encoder (text.py) and MOTE, the motivation/trait encoder.

MOTE puts users and items in one space. Items: a trait vector from the frozen MiniLM embedding
of their text (title, genres or categories, description) plus an optional item-id embedding.
Users: attention over their notes with a learned recency decay, so recent notes weigh more.

Where the training signal comes from: every training example is a (history prefix, next item)
pair of the training split, and the notes are the prefix's items' text (plus their metadata
traits). MOPE's LLM notes are not used in training (0% of the signal): a test-stage profile is
written from the history before the test item, which contains the validation target and the
training tail, so training on it would leak. Notes enter at scoring time
(`MoteRecommender.use_notes`) as a second term, the cosine between the mean note embedding and
an item's text, weighted by `notes_weight`, which is chosen on validation users whose profiles
were written from the history before their validation item (`m3rec profile --stage valid`).

Modules: mote.py (nn.Modules), training.py (InfoNCE loop), checkpoint.py, notes.py (store
reader), recommender.py (the harness model `mote`), config.py, errors.py. Importing this
package loads nothing.
"""
