"""MOTE's defaults that the command line shows too (plain numbers: importing this loads nothing).

Chosen on validation users of Beauty and ML-1M (BENCHMARKS.md, "MOTE: the accuracy work").
"""

DIM = 128
BATCH_SIZE = 1024
EPOCHS = 30
NEGATIVES = 4096
