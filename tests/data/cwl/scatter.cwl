#!/usr/bin/env cwl-runner
# Scatter over a workflow input (element count known when planning), then over step outputs
# (counted by a checkpoint), then join everything in one step.
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
  StepInputExpressionRequirement: {}
inputs:
  words: string[]
outputs:
  shouted:
    type: File[]
    outputSource: shout/shouted
  lengths:
    type: int[]
    outputSource: measure/length
  joined:
    type: File
    outputSource: join/joined
steps:
  shout:
    run: shout.cwl
    scatter: message
    in:
      message: words
    out: [shouted]
  measure:
    scatter: text
    in:
      text: shout/shouted
    out: [length]
    run:
      class: CommandLineTool
      baseCommand: [wc, -c]
      stdin: $(inputs.text.path)
      inputs:
        text: File
      stdout: count.txt
      outputs:
        length:
          type: int
          outputBinding:
            glob: count.txt
            loadContents: true
            outputEval: $(parseInt(self[0].contents))
      requirements:
        InlineJavascriptRequirement: {}
  join:
    in:
      parts: shout/shouted
    out: [joined]
    run:
      class: CommandLineTool
      baseCommand: cat
      inputs:
        parts:
          type: File[]
          inputBinding: {}
      stdout: joined.txt
      outputs:
        joined: stdout
