cwlVersion: v1.2
class: CommandLineTool
id: ctaplot
label: ctaplot
doc: ctaplot provides low-level reconstruction quality-checks metrics computation and vizualisation for Imaging Atmospheric Cherenkov Telescopes such as CTA
requirements:
- class: ResourceRequirement
  coresMin: 1
  ramMin: 64
- class: ToolTimeLimit
  timelimit: 60
hints:
- class: SoftwareRequirement
  packages:
  - package: ctaplot
    version:
    - 0.6.5
    specs:
    - https://github.com/cta-observatory/ctaplot.git
  - package: Python
    version:
    - '>=3.6'
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
s:softwareVersion: 0.6.5
s:author:
- s:name: Thomas Vuillaume
  s:identifier: https://orcid.org/0000-0002-5686-2078
  s:email: mailto:thomas.vuillaume@lapp.in2p3.fr
s:contributor:
- s:name: Mikael Jacquemont
  s:email: mailto:mikael.jacquemont@lapp.in2p3.fr
s:license: https://spdx.org/licenses/MIT
s:codeRepository: https://github.com/cta-observatory/ctaplot.git
s:keywords:
- astronomy
s:programmingLanguage:
- Python 3
s:dateCreated: '2018-07-06'
s:dateModified: '2025-10-07'
s:datePublished: '2025-10-07'
$namespaces:
  s: https://schema.org/
