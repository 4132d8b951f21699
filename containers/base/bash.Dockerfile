# docker.io/bash:4.4 for the CWL conformance tests, built locally: like the official bash image,
# arguments that start with "-" (or none) go to bash, anything else runs as a command.
ARG BASE=ossrflow/debian-python:local
FROM ${BASE}
COPY bash-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["bash"]
