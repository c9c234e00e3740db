"""m3rec: a motivation-aware LLM recommender (M-LLM3REC: MOPE, MOTE, MAR)."""

__version__ = "0.1.0"
