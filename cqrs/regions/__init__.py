"""Read regions (`docs/regions.md`): a region's projections, read models, read API and command proxy, run beside the
primary on one machine, fed from the one event log."""
