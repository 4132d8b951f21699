#!/usr/bin/env cwl-runner
# A workflow whose step is an abstract Operation: valid CWL that nothing can run.
cwlVersion: v1.2
class: Workflow
inputs:
  x: string
outputs: {}
steps:
  abstract:
    in:
      x: x
    out: []
    run:
      class: Operation
      inputs:
        x: string
      outputs: {}
