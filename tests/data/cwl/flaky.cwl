#!/usr/bin/env cwl-runner
# Fails on its first attempt and succeeds on the next: attempts are counted in a file outside
# the run folder (the test gives its path).
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ShellCommandRequirement: {}
inputs:
  counter: string
arguments:
  - valueFrom: >-
      echo x >> $(inputs.counter) && test `wc -l < $(inputs.counter)` -ge 2 && echo done > done.txt
    shellQuote: false
outputs:
  done:
    type: File
    outputBinding: {glob: done.txt}
