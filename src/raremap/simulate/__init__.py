"""Deterministic simulation runs: scenario in, Result (tidy tables, prices, shortfall) out."""

from raremap.simulate.run import Result, Simulation, simulate

__all__ = ["Result", "Simulation", "simulate"]
