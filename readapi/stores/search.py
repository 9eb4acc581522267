"""`OrderSearch` on the Elasticsearch projection, through its alias (`orders` → `orders-vN`).

Relevance: one `multi_match` over what a person types to find an order (item names and SKUs weigh most, then the
city and the cancel reason; order and customer ids match exactly), ties broken by orderId so pages are stable. Without
a text, newest first. Filters are `term` filters (no effect on scores, cached by the node). The analyzer is the
standard one: the node here has no analysis-common module (see `streams.sinks.elasticsearch`).
"""

from __future__ import annotations

from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from readapi.ports import Document
from readapi.queries import Page, SearchQuery
from readapi.stores.documents import order_summary
from readapi.stores.guard import guarded
from streams.settings import StreamsSettings

STORE = "elasticsearch"
TEXT_FIELDS = ["items.name^3", "items.sku^3", "shippingAddress.city^2", "cancelReason", "orderId", "customerId"]
HIGHLIGHTED = ("items.name", "items.sku", "shippingAddress.city", "cancelReason")
_SOURCE = ["orderId", "customerId", "status", "currency", "total", "itemCount", "version", "createdAt", "updatedAt"]


class ElasticsearchOrderSearch:
    def __init__(self, client: AsyncElasticsearch, alias: str, *, timeout_s: float) -> None:
        self._client = client
        self._alias = alias
        self._timeout_s = timeout_s

    @classmethod
    def connect(cls, settings: StreamsSettings, *, timeout_s: float) -> ElasticsearchOrderSearch:
        client = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=timeout_s, connections_per_node=32)
        return cls(client, settings.search_alias, timeout_s=timeout_s)

    async def close(self) -> None:
        await self._client.close()

    async def search(self, query: SearchQuery) -> Page[Document]:
        body = self.request(query)
        async with guarded(STORE, self._timeout_s):
            try:
                response = await self._client.search(index=self._alias, **body)
            except NotFoundError:
                return Page([], 0)  # no index yet: nothing was ever projected
        hits = response["hits"]
        return Page([_hit(hit) for hit in hits["hits"]], int(hits["total"]["value"]))

    @staticmethod
    def request(query: SearchQuery) -> dict[str, Any]:
        filters: list[dict[str, Any]] = [
            {"term": {field: value}}
            for field, value in (
                ("status", query.filters.status.value if query.filters.status else None),
                ("currency", query.filters.currency),
                ("customerId", query.filters.customer_id),
            )
            if value is not None
        ]
        body: dict[str, Any] = {
            "from_": query.page.offset,
            "size": query.page.limit,
            "track_total_hits": True,
            "source": _SOURCE,
        }
        if query.text is None:
            body["query"] = {"bool": {"filter": filters}}
            body["sort"] = [{"createdAt": "desc"}, {"orderId": "asc"}]
            return body
        text = {"multi_match": {"query": query.text, "fields": TEXT_FIELDS, "lenient": True, "operator": "or"}}
        body["query"] = {"bool": {"must": [text], "filter": filters}}
        body["sort"] = ["_score", {"orderId": "asc"}]
        body["highlight"] = {
            "encoder": "html",  # the stored text is escaped around the tags: a product name cannot inject markup
            "fields": {field: {} for field in HIGHLIGHTED},
            "pre_tags": ["<em>"],
            "post_tags": ["</em>"],
            "number_of_fragments": 3,
            "fragment_size": 100,
        }
        return body

    async def check(self) -> None:
        async with guarded(STORE, self._timeout_s):
            await self._client.cluster.health()  # this node answers GET / with 405: no info()


def _hit(hit: dict[str, Any]) -> Document:
    document = order_summary(hit["_source"])
    score = hit.get("_score")
    document["score"] = float(score) if score is not None else None
    document["highlights"] = {field: list(fragments) for field, fragments in hit.get("highlight", {}).items()}
    return document
