cwlVersion: v1.2
class: CommandLineTool
id: codemeta2zenodo
label: codemeta2zenodo
doc: GitHub Action to convert codemeta.json files to .zenodo.json format using the eossr library for research software metadata management
requirements:
- class: ResourceRequirement
  coresMin: 1
  ramMin: 64
- class: ToolTimeLimit
  timelimit: 60
hints:
- class: SoftwareRequirement
  packages:
  - package: codemeta2zenodo
    version:
    - 1.3.0
    specs:
    - https://github.com/escape2020/codemeta2zenodo
  - package: EOSSR
    version:
    - 2.3.0
  - package: Docker
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
s:softwareVersion: 1.3.0
s:author:
- s:name: Thomas Vuillaume
  s:identifier: https://orcid.org/0000-0002-5686-2078
  s:email: mailto:thomas.vuillaume@lapp.in2p3.fr
s:maintainer:
- s:name: Thomas Vuillaume
  s:identifier: https://orcid.org/0000-0002-5686-2078
  s:email: mailto:thomas.vuillaume@lapp.in2p3.fr
s:license: https://spdx.org/licenses/MIT
s:codeRepository: https://github.com/escape2020/codemeta2zenodo
s:keywords:
- codemeta
- zenodo
- metadata
- github-actions
- converter
- research-software
- FAIR
- open-science
- research-software-engineering
s:programmingLanguage:
- Shell
s:dateCreated: '2026-02-23'
s:dateModified: '2026-04-03'
s:datePublished: '2026-04-03'
$namespaces:
  s: https://schema.org/
