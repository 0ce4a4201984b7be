"""Turning filter rankings into evidence: masking, modulation, gradient maps, output differences."""
