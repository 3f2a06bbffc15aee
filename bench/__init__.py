"""herald's benchmarks: `python -m bench.run` measures cold start, ticks, scale, lateness and
cost, side by side in one run, and writes docs/performance.md. Figures are ratios and counts,
never absolute times compared across runs: the machines are shared and noisy."""
