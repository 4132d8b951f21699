cwlVersion: v1.2
class: Workflow
id: good_crossproduct
requirements:
- class: ScatterFeatureRequirement
inputs:
- id: images
  label: images
  type: File[]
- id: references
  type: File[]
outputs:
- id: reports
  outputSource: compare/report
  type:
    type: array
    items:
      type: array
      items: File
steps:
- id: compare
  in:
  - id: left
    source: images
  - id: right
    source: references
  out:
  - id: report
  run: tools/fitsdiff.cwl
  scatter:
  - left
  - right
  scatterMethod: nested_crossproduct
