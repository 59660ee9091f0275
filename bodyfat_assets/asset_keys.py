"""Every asset's key, declared once: the asset definitions take their key from here (`key=`), and the jobs,
sensors, checks and CLIs that name an asset import the same constant. A module of its own, with no asset code,
because the CLIs and sensors that only need a key must not import the ML stack the asset modules import."""

from dagster import AssetKey

RAW_BODYFAT = AssetKey("raw_bodyfat")
WITHDRAWN_LABELS = AssetKey("withdrawn_labels")
CLEANED_BODYFAT = AssetKey("cleaned_bodyfat")
QUARANTINED_BODYFAT = AssetKey("quarantined_bodyfat")
BODYFAT_SPLITS = AssetKey("bodyfat_splits")
TUNED_MODEL = AssetKey("tuned_model")
CHAMPION = AssetKey("champion")
BATCH_PREDICTIONS = AssetKey("batch_predictions")
LIVE_PERFORMANCE = AssetKey("live_performance")
MODEL_HEALTH = AssetKey("model_health")
SERVED_PERFORMANCE = AssetKey("served_performance")
SERVED_TRAFFIC = AssetKey("served_traffic")
LANDING_ZONE = AssetKey("landing_zone")
