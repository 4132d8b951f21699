cwlVersion: v1.2
class: CommandLineTool
# writes an output object nested 100 000 deep instead of letting the engine collect its output
baseCommand: [python3, -c, "open('cwl.output.json', 'w').write('{\"out\": ' + '[' * 100000 + ']' * 100000 + '}')"]
inputs: []
outputs:
  out: Any
