cwlVersion: v1.2
class: CommandLineTool
id: lstmcpipe
label: lstmcpipe
doc: Scripts to ease the reduction of MC data on the LST cluster at La Palma. With this package, the analysis/creation of R1/DL0/DL1/DL2/IRFs can be orchestrated.
requirements:
- class: ResourceRequirement
  coresMin: 1
  ramMin: 64
- class: ToolTimeLimit
  timelimit: 60
hints:
- class: SoftwareRequirement
  packages:
  - package: lstmcpipe
    version:
    - 0.11.3
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
s:softwareVersion: 0.11.3
s:author:
- s:name: Thomas Vuillaume
  s:identifier: https://orcid.org/0000-0002-5686-2078
  s:email: mailto:thomas.vuillaume@lapp.in2p3.fr
- s:name: Enrique Garcia
  s:identifier: https://orcid.org/0000-0003-2224-4594
  s:email: mailto:enrique.garcia@lapp.in2p3.fr
- s:name: Lukas Nickel
  s:identifier: https://orcid.org/0000-0001-7110-0533
  s:email: mailto:lukas.nickel@tu-dortmund.de
- s:name: Arnau Aguasca-Cabot
  s:identifier: https://orcid.org/0000-0001-8816-4920
  s:email: mailto:arnau.aguasca@fqa.ub.edu
s:maintainer:
- s:name: Enrique Garcia
  s:identifier: https://orcid.org/0000-0003-2224-4594
  s:email: mailto:enrique.garcia@lapp.in2p3.fr
s:license: https://spdx.org/licenses/MIT
s:codeRepository: git+https://github.com/cta-observatory/lstmcpipe.git
s:keywords:
- workflow
- pipeline
- CTA
- ground-based telescopes
s:programmingLanguage:
- Python 3
s:dateCreated: '2019-09-18'
s:datePublished: '2024-10-18'
$namespaces:
  s: https://schema.org/
