cwlVersion: v1.2
class: CommandLineTool
id: invalid-tool
baseCommand: [wc, -l]
inputs:
  infile:
    type: Flie
    inputBinding:
      position: 1
outputs: []
