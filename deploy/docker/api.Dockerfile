# The API (and the voice gateway, which uses the same Python 3.11 environment).
FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends libsndfile1 && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/minsheng
COPY requirements/api.txt requirements/api.txt
RUN pip install --no-cache-dir -r requirements/api.txt
COPY . .
ENV PYTHONUNBUFFERED=1
USER nobody
