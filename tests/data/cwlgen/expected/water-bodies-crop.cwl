cwlVersion: v1.2
class: CommandLineTool
id: crop
label: Water Bodies Detection
doc: The Water Bodies Detection is an Application that uses the NDWI index and the Otsu threshold to detect water bodies using Sentinel-2 or Landsat-9 data
requirements:
- class: InlineJavascriptRequirement
- class: EnvVarRequirement
  envDef:
  - envName: PYTHONPATH
    envValue: /app
- class: ResourceRequirement
  coresMax: 1
  ramMax: 512
- class: NetworkAccess
  networkAccess: true
- class: LoadListingRequirement
  loadListing: deep_listing
hints:
- class: DockerRequirement
  dockerPull: localhost/crop:latest
- class: SoftwareRequirement
  packages:
  - package: crop
    version:
    - 1.0.0
    specs:
    - https://github.com/Terradue/app-package-training-bids23.git
baseCommand:
- python
- -m
- app
arguments: []
inputs:
- id: item
  type: string
  inputBinding:
    prefix: --input-item
- id: aoi
  type: string
  inputBinding:
    prefix: --aoi
- id: epsg
  type: string
  inputBinding:
    prefix: --epsg
- id: band
  type: string
  inputBinding:
    prefix: --band
outputs:
- id: cropped
  type: File
  outputBinding:
    glob: '*.tif'
s:softwareVersion: 1.0.0
s:author:
- s:name: Jane Doe
  s:email: mailto:jane.doe@acme.earth
- s:name: John Doe
  s:email: mailto:john.doe@acme.earth
s:license: https://spdx.org/licenses/CC-BY-NC-SA-4.0
s:codeRepository: https://github.com/Terradue/app-package-training-bids23.git
s:keywords:
- NDWI
- Landsat-9
- Sentinel-2
- Water Bodies
s:programmingLanguage:
- Python
- CWL
s:dateCreated: '2022-09-01'
s:dateModified: '2022-09-25'
s:datePublished: '2022-09-25'
$namespaces:
  s: https://schema.org/
