# Production image: python:3.11-slim-bookworm, dependencies from the uv lock file (hashes checked).
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 UV_PYTHON_DOWNLOADS=never
WORKDIR /app
RUN pip install uv==0.13.9
COPY pyproject.toml uv.lock ./
RUN uv export --frozen --no-dev --format requirements-txt > requirements.txt \
 && python -m venv /venv && /venv/bin/pip install --require-hashes -r requirements.txt

FROM python:3.11-slim-bookworm
# The app's group has gid 101, the gid of the `nginx` group in the nginx image (docker-compose),
# whose workers serve /protected/ from the shared media volume: files stored 0640 in 0750
# directories (settings FILE_UPLOAD_*PERMISSIONS) are readable by nginx through the group, by
# nobody else. Created before any package can take the gid; groupadd fails the build if it is.
RUN groupadd --system --gid 101 dti \
 && useradd --system --uid 1000 --gid dti --home /app dti
# postgresql-client is Debian bookworm's 15: docker-compose runs postgres:15 (pg_dump refuses a
# newer server).
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libmagic1 libpq5 \
      fonts-dejavu-core gettext postgresql-client curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=dti_portal.settings
WORKDIR /app
COPY --chown=dti:dti . .
# Production storage (hashed manifest) needs production settings: a throwaway key (and host)
# for the build.
RUN SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    ALLOWED_HOSTS=localhost python manage.py collectstatic --noinput -v0 \
 && DTI_TESTING=1 python manage.py compilemessages --ignore=.venv -v0
# Mount points of the named volumes (docker-compose): an empty volume is initialised from the
# image's directory, owner and mode included, so the media volume (evidence, exports, upload
# temporary files, beat's schedule) and the backups volume belong to dti, not root.
RUN install -d -o dti -g dti -m 0750 /data/media \
 && install -d -o dti -g dti -m 0700 /data/media/.uploads /backups
USER dti
EXPOSE 8000
CMD ["gunicorn", "dti_portal.wsgi", "-k", "gthread", "-w", "2", "--threads", "4", "--timeout", "120", "-b", "0.0.0.0:8000"]
