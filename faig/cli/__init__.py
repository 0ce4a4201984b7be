"""Command lines of the analysis tools: one implementation each, parameterised by network spec."""
