#!/usr/bin/env cwl-runner
# A subworkflow (flattened into the parent's jobs) and a conditional step.
cwlVersion: v1.2
class: Workflow
requirements:
  SubworkflowFeatureRequirement: {}
  InlineJavascriptRequirement: {}
inputs:
  message: string
  loud: boolean
outputs:
  final:
    type: File
    outputSource: twice/out
  maybe:
    type: File?
    outputSource: optional/shouted
steps:
  twice:
    in:
      message: message
    out: [out]
    run:
      class: Workflow
      inputs:
        message: string
      outputs:
        out:
          type: File
          outputSource: second/shouted
      steps:
        first:
          run: shout.cwl
          in:
            message: message
          out: [shouted]
        second:
          in:
            file: first/shouted
          out: [shouted]
          run:
            class: CommandLineTool
            baseCommand: cat
            inputs:
              file:
                type: File
                inputBinding: {}
            stdout: again.txt
            outputs:
              shouted: stdout
  optional:
    run: shout.cwl
    when: $(inputs.loud)
    in:
      message: message
      loud: loud
    out: [shouted]
