"""Re-export of the feature contract, which now lives in the dependency-free `bodyfat_contract` package (contract/).

This module goes away once the pipeline imports `bodyfat_contract` directly.
"""

from bodyfat_contract import *  # noqa: F403
from bodyfat_contract import __all__  # noqa: F401
