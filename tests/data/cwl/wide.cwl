#!/usr/bin/env cwl-runner
# One step scattered over a workflow input: the elements' command lines are known when the run
# is planned, so they run as precomputed commands, grouped by the profile's max-jobs-per-step.
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  words: string[]
outputs:
  shouted:
    type: File[]
    outputSource: shout/shouted
steps:
  shout:
    run: shout.cwl
    scatter: message
    in:
      message: words
    out: [shouted]
