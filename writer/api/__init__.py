"""The writer's HTTP layer (FastAPI): routes, models, problems; the handlers below it know no HTTP."""
