"""The API's routers: `predict` (the model), `invocations` (MLflow's scoring protocol), `v2` (Open Inference
Protocol), `page` (the prediction page and its feature contract), `ops` (probes, model card, metrics), `admin`
(operator actions, mounted only with an admin token)."""
