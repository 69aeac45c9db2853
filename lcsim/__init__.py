"""lcsim: replay recorded learning curves to run, compare and analyse multi-fidelity HPO methods in seconds."""
__version__ = "0.1.0"
