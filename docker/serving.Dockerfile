# The serving API alone: mlflow-skinny + scikit-learn + FastAPI, no Dagster. Build from the repository root:
#   docker build -f docker/serving.Dockerfile -t bodyfat/serving:local .
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # One OpenMP thread per worker: HistGradientBoosting's thread pool otherwise fights the event loop and the GIL.
    OMP_NUM_THREADS=1 \
    BODYFAT_SERVING_HOST=0.0.0.0 \
    BODYFAT_SERVING_PORT=8000

# libgomp1: scikit-learn's OpenMP runtime (HistGradientBoosting); the slim image does not ship it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin serving

WORKDIR /app
COPY serving/requirements.txt /app/serving/requirements.txt
RUN pip install -r /app/serving/requirements.txt

# The shared feature contract is a package of its own (stdlib only): installed, not copied from the pipeline.
COPY contract/ /tmp/contract/
RUN pip install /tmp/contract && rm -rf /tmp/contract
COPY serving/ /app/serving/

USER serving
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('BODYFAT_SERVING_PORT', '8000')}/health\", timeout=2)"]
CMD ["python", "-m", "serving"]
