# A deterministic two-step workflow for the provenance tests: upper-case a text, count its bytes (step measure).
cwlVersion: v1.2
class: Workflow
label: shout and count
inputs:
  text: File
  label: string
outputs:
  upper:
    type: File
    outputSource: shout/out
  count:
    type: File
    outputSource: measure/out
steps:
  shout:
    in: {src: text}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [tr, a-z, A-Z]
      stdin: $(inputs.src.path)
      stdout: upper.txt
      inputs: {src: File}
      outputs: {out: {type: stdout}}
  measure:
    in: {src: shout/out, name: label}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [wc, -c]
      stdin: $(inputs.src.path)
      stdout: $(inputs.name).count
      inputs: {src: File, name: string}
      outputs: {out: {type: stdout}}
