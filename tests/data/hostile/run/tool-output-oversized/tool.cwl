cwlVersion: v1.2
class: CommandLineTool
# writes a (sparse) output object of 64 MiB + 1 byte
baseCommand: [python3, -c, "open('cwl.output.json', 'wb').truncate(67108865)"]
inputs: []
outputs:
  out: Any
