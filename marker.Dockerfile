# A throw-away machine for marking (`make mark`), because re-training runs a student's code.
# Built once, with the network: the template, its locked packages and TeX Live.
#   docker build -f marker.Dockerfile -t coursework-marker .
# Then each marking runs in a fresh container with no network (see README, "Marking"):
#   docker run --rm --network none --user "$(id -u):$(id -g)" -v "$PWD/inbox:/inbox:ro" \
#     -v "$PWD/marking:/template/marking" coursework-marker make mark SUBMISSION=/inbox UNSAFE=1
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends make git \
      texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended latexmk lmodern \
      poppler-utils bubblewrap \
    && rm -rf /var/lib/apt/lists/* \
    && git config --system --add safe.directory /template
WORKDIR /template
COPY . .
RUN make setup && chmod -R a+rX /template
# any user may run it (docker run --user): caches go to /tmp, never into the template
ENV HOME=/tmp PYTHONDONTWRITEBYTECODE=1
