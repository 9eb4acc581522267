"""The four read models of the Order events, by name; each is a `streams.projection.Projection`."""

from __future__ import annotations

from streams.errors import UnknownProjection
from streams.projection import Projection
from streams.projections.analytics import AnalyticsProjection
from streams.projections.detail import DetailProjection
from streams.projections.lists import ListProjection
from streams.projections.search import SearchProjection

PROJECTIONS: dict[str, type[Projection]] = {
    DetailProjection.name: DetailProjection,
    SearchProjection.name: SearchProjection,
    AnalyticsProjection.name: AnalyticsProjection,
    ListProjection.name: ListProjection,
}


def projection_named(name: str) -> Projection:
    try:
        return PROJECTIONS[name]()
    except KeyError:
        raise UnknownProjection(name, list(PROJECTIONS)) from None
