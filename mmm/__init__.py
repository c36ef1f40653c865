"""mmm: Bayesian marketing mix modeling that marketing and finance can co-own."""
__version__ = "0.1.0"
