# Production image: python:3.11-slim-bookworm, dependencies from the uv lock file (hashes checked).
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 UV_PYTHON_DOWNLOADS=never
WORKDIR /app
RUN pip install uv==0.13.9
COPY pyproject.toml uv.lock ./
RUN uv export --frozen --no-dev --no-hashes --format requirements-txt > requirements.txt \
 && python -m venv /venv && /venv/bin/pip install -r requirements.txt

FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libmagic1 libpq5 \
      fonts-dejavu-core gettext postgresql-client curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 1000 --home /app dti
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=dti_portal.settings
WORKDIR /app
COPY --chown=dti:dti . .
# Production storage (hashed manifest) needs production settings: a throwaway key for the build.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    python manage.py collectstatic --noinput -v0 \
 && DTI_TESTING=1 python manage.py compilemessages --ignore=.venv -v0
USER dti
EXPOSE 8000
CMD ["gunicorn", "dti_portal.wsgi", "-k", "gthread", "-w", "2", "--threads", "4", "--timeout", "120", "-b", "0.0.0.0:8000"]
