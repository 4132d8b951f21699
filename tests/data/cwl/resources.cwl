#!/usr/bin/env cwl-runner
# A tool that declares what it needs: cores, memory, disk and a time limit.
cwlVersion: v1.2
class: CommandLineTool
requirements:
  ResourceRequirement:
    coresMin: 2
    ramMin: 300
    tmpdirMin: 10
    outdirMax: 20
  ToolTimeLimit:
    timelimit: 90
inputs: []
outputs: []
baseCommand: "true"
