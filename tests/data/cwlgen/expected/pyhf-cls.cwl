cwlVersion: v1.2
class: CommandLineTool
id: pyhf
label: pyhf
doc: pure-Python HistFactory implementation with tensors and autodiff
hints:
- class: SoftwareRequirement
  packages:
  - package: pyhf
    version:
    - 0.7.0rc4
    specs:
    - https://github.com/scikit-hep/pyhf
  - package: jsonschema
    version:
    - '>=3.0.0'
  - package: scipy
    version:
    - '>=1.1.0'
  - package: typing-extensions
    version:
    - '>=3.7.4.3'
  - package: click
    version:
    - '>=8.0.0'
  - package: jsonpatch
    version:
    - '>=1.15'
  - package: pyyaml
    version:
    - '>=5.1'
  - package: importlib-resources
    version:
    - '>=1.3.0'
  - package: tqdm
    version:
    - '>=4.56.0'
baseCommand:
- pyhf
arguments:
- cls
inputs:
- id: workspace
  doc: a HistFactory JSON workspace
  type: File
  inputBinding:
    position: 1
outputs:
- id: result
  type: stdout
stdout: cls.json
s:softwareVersion: 0.7.0rc4
s:author:
- s:name: Lukas Heinrich
  s:email: mailto:lukas.heinrich@cern.ch
- s:name: Matthew Feickert
  s:email: mailto:matthew.feickert@cern.ch
- s:name: Giordon Stark
  s:email: mailto:gstark@cern.ch
s:license: https://spdx.org/licenses/Apache-2.0
s:codeRepository: https://github.com/scikit-hep/pyhf
s:identifier: pyhf
s:keywords:
- physics fitting numpy scipy tensorflow pytorch jax
$namespaces:
  s: https://schema.org/
