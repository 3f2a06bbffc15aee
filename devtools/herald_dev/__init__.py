"""herald's development tools: test doubles and launchers for local runs and the test suite.

Installed into `.venv` by `make venv` (`pip install -e devtools`); never part of the Lambda
layer, which `sam build` makes from `layers/` alone.
"""
