"""The prediction page for people (`GET /`) and the feature contract it is built from (`GET /features`). The page is
static HTML, CSS and plain JavaScript in `serving/static/`, served by the API itself: no CDN, works offline."""

from __future__ import annotations

from pathlib import Path

from bodyfat_contract import FEATURES
from fastapi import APIRouter
from fastapi.responses import FileResponse
from pydantic import BaseModel

from serving.schemas import EXAMPLE_RECORD, FeatureInfo

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
router = APIRouter()


class FeatureContract(BaseModel):
    features: list[FeatureInfo]
    example: dict[str, float]


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)  # uptime monitors probe with HEAD
async def page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


@router.get("/features", tags=["model"], response_model=FeatureContract)
async def features() -> FeatureContract:
    """The 13 features in the model's units with their accepted ranges (the shared contract), and an example."""
    return FeatureContract(
        features=[FeatureInfo(name=f.name, unit=f.unit, low=f.low, high=f.high, description=f.description)
                  for f in FEATURES],
        example=EXAMPLE_RECORD,
    )  # fmt: skip
