"""Containers: engines (docker, podman, apptainer), their command lines, and images pinned by digest.

Takes a step's ``DockerRequirement`` and a chosen engine; gives the image resolved once on the
submit host (:mod:`.images`), the ``images.json`` pins jobs and provenance read (:mod:`.pins`),
and the engine's run command (:mod:`.engines`).
"""
