"""Benchmarks and the generated libraries with known truth that they run on."""
