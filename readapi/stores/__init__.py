"""One adapter per read store, each implementing the ports of `readapi.ports` and nothing else."""
