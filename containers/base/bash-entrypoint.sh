#!/bin/sh
# Entry point of the local stand-in for docker.io/bash:4.4 (see bash.Dockerfile).
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- bash "$@"
fi
exec "$@"
