"""The API's routers: `predict` (the model), `ops` (probes, metadata, metrics), `admin` (operator actions)."""
