"""Monte Carlo risk: correlated disruptions drawn from a risk file, evaluated on a warm-started LP."""
