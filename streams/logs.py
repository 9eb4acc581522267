"""JSON log lines on stderr (one object per line) for the worker, the standard library's records included.

One dictConfig serves both ways a worker starts: `configure_logging` applies it directly, and the Faust runner
hands it to Faust's worker, which would otherwise install its own coloured text format.
"""

from __future__ import annotations

import logging
import logging.config
from typing import Any

import structlog


def logging_config(level: str = "info") -> dict[str, Any]:
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    # aiokafka and Faust are chatty at info (every rebalance step); their warnings still come through.
    quiet = {"level": max(numeric, logging.WARNING)}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": [
                    structlog.processors.add_log_level,
                    structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
                    structlog.stdlib.add_logger_name,
                ],
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    structlog.processors.JSONRenderer(),
                ],
            }
        },
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": numeric, "handlers": ["stderr"]},
        "loggers": {name: quiet for name in ("aiokafka", "faust", "mode", "elastic_transport", "pymongo")},
    }


def configure_logging(level: str = "info") -> None:
    logging.config.dictConfig(logging_config(level))
