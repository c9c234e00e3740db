"""Graph node families: MOPE (motivation profiles); MAR and conversation come later."""
