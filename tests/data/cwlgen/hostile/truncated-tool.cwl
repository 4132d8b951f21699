cwlVersion: v1.2
class: CommandLineTool
baseCommand: wc
inputs: {infile: File
outputs: []
