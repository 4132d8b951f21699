#!/usr/bin/env cwl-runner
# Reads files and a folder by content: `upper` scatters over the job order's files (precomputed
# commands), `size` over upper's outputs (counted by a checkpoint), `join` reads every upper
# output in one job, `list` reads every file of the folder. Edit one input: only what reads it
# runs again.
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  files: File[]
  folder: Directory
outputs:
  uppercase:
    type: File[]
    outputSource: upper/upper
  sizes:
    type: int[]
    outputSource: size/size
  joined:
    type: File
    outputSource: join/joined
  listed:
    type: File
    outputSource: list/listed
steps:
  upper:
    scatter: file
    in:
      file: files
    out: [upper]
    run:
      class: CommandLineTool
      baseCommand: [tr, a-z, A-Z]
      stdin: $(inputs.file.path)
      inputs:
        file: File
      stdout: upper.txt
      outputs:
        upper: stdout
  size:
    scatter: text
    in:
      text: upper/upper
    out: [size]
    run:
      class: CommandLineTool
      baseCommand: [wc, -c]
      stdin: $(inputs.text.path)
      inputs:
        text: File
      stdout: size.txt
      outputs:
        size:
          type: int
          outputBinding:
            glob: size.txt
            loadContents: true
            outputEval: $(parseInt(self[0].contents))
      requirements:
        InlineJavascriptRequirement: {}
  join:
    in:
      parts: upper/upper
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
  list:
    in:
      folder: folder
    out: [listed]
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'cd "$0" && for f in *; do printf "%s: " "$f"; cat "$f"; done']
      inputs:
        folder:
          type: Directory
          inputBinding: {position: 1}
      stdout: listed.txt
      outputs:
        listed: stdout
