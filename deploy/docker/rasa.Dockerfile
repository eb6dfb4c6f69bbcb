# Rasa 3.6 and the action server (Python 3.10). The trained model is mounted at /srv/minsheng/models.
FROM python:3.10-slim-bookworm
WORKDIR /srv/minsheng
COPY requirements/rasa.txt requirements/rasa.txt
RUN pip install --no-cache-dir -r requirements/rasa.txt
COPY . .
ENV PYTHONUNBUFFERED=1 RASA_TELEMETRY_ENABLED=false SQLALCHEMY_SILENCE_UBER_WARNING=1 TF_CPP_MIN_LOG_LEVEL=2
RUN mkdir -p /var/lib/minsheng && chown nobody /var/lib/minsheng
USER nobody
