"""invgan: imaging inverse problems with adversarial and generative priors.

Layout (imports flow one way): ``physics`` -> ``data`` -> ``nets`` -> ``losses`` ->
``training`` / ``solvers`` -> ``cli``.
"""

__version__ = "0.1.0"
