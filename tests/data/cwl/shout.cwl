#!/usr/bin/env cwl-runner
# One command-line tool: writes its message, upper-cased, to shout.txt.
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'printf "%s\n" "$0" | tr a-z A-Z']
inputs:
  message:
    type: string
    inputBinding: {position: 1}
stdout: shout.txt
outputs:
  shouted: stdout
