"""Random number generation: counter-based bit streams and exact batched samplers."""
