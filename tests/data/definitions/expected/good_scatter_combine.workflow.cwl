cwlVersion: v1.2
class: Workflow
id: good_scatter_combine
$namespaces:
  ossrflow: https://ossrflow.example/cwl#
requirements:
- class: ScatterFeatureRequirement
inputs:
- id: images
  type: File[]
outputs:
- id: log
  outputSource: table/table
  type: File
- id: checked
  outputSource: check/checked
  type: File[]
steps:
- id: check
  in:
  - id: image
    source: images
  out:
  - id: checked
  requirements:
  - class: ResourceRequirement
    coresMin: 2
    ramMin: 1024
  - class: ToolTimeLimit
    timelimit: 90
  hints:
  - class: ossrflow:Scheduler
    partition: debug
    account: astro
  run: tools/fitscheck.cwl
  scatter: image
- id: table
  in:
  - id: images
    source: check/checked
  - id: keywords
    default:
    - OBJECT
    - NAXIS*
  out:
  - id: table
  run: tools/fitsheader.cwl
