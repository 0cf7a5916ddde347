"""migration.equivalence: the staged numerical equivalence checker (TF1 graph vs Keras)."""
