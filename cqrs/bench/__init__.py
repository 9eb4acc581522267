"""`cqrs bench …`: benchmarks on the real stack (tables on screen, JSON in bench-results/)."""
