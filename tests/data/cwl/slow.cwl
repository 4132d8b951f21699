#!/usr/bin/env cwl-runner
# A quick step, then a step that waits (so that a test can kill the run in the middle).
cwlVersion: v1.2
class: Workflow
inputs:
  message: string
  seconds: int
outputs:
  slept:
    type: File
    outputSource: wait/slept
steps:
  quick:
    run: shout.cwl
    in:
      message: message
    out: [shouted]
  wait:
    in:
      after: quick/shouted
      seconds: seconds
    out: [slept]
    run:
      class: CommandLineTool
      baseCommand: sleep
      inputs:
        after: File
        seconds:
          type: int
          inputBinding: {}
      stdout: slept.txt
      outputs:
        slept: stdout
