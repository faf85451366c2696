"""Log output: kgw's text lines, or one JSON object per line for log shippers.

Messages carry their context in the text (peer, client id, API), so the
text format reads on its own; the same context also travels as `extra`
attributes, which the JSON format turns into fields of their own.
"""

import json
import logging
import time

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The `extra` attributes kgw's loggers pass and JSON lines carry as fields.
CONTEXT_FIELDS = ("peer", "client_id", "api", "api_version")


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, name, message,
    the context fields present, and the traceback as `exception` if any."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry = {
            "time": f"{seconds}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "name": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, log_format: str) -> None:
    """Log to stderr at `level` ("debug"...), as "text" or "json" lines.

    Like logging.basicConfig, does nothing when logging is already set up
    (an embedding application or a test runner owns it then).
    """
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
