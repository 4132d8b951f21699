cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  s:
    run: bomb.cwl
    in: []
    out: []
