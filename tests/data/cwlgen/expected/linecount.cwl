cwlVersion: v1.2
class: CommandLineTool
id: linecount
label: linecount
doc: Count the lines of a text file (a demo entry for ossrflow, wrapping coreutils wc).
requirements:
- class: ResourceRequirement
  coresMin: 1
  ramMin: 64
hints:
- class: SoftwareRequirement
  packages:
  - package: linecount
    version:
    - 1.0.0
    specs:
    - https://doi.org/10.5281/zenodo.0000001
    - https://example.org/ossrflow/linecount
  - package: coreutils
    version:
    - '>=8'
baseCommand:
- wc
- -l
inputs:
- id: infile
  doc: a text file
  type: File
  inputBinding:
    position: 1
outputs:
- id: counts
  type: stdout
stdout: counts.txt
s:softwareVersion: 1.0.0
s:author:
- s:name: Josiah Carberry
  s:identifier: https://orcid.org/0000-0002-1825-0097
  s:email: mailto:josiah.carberry@example.org
s:maintainer:
- s:name: Josiah Carberry
s:license: https://spdx.org/licenses/BSD-3-Clause
s:codeRepository: https://example.org/ossrflow/linecount
s:identifier: https://doi.org/10.5281/zenodo.0000001
s:citation: https://doi.org/10.5281/zenodo.0000001
s:keywords:
- demo
- text
s:datePublished: '2026-01-15'
$namespaces:
  s: https://schema.org/
