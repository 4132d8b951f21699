cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  s:
    run: deep.cwl
    in: []
    out: []
