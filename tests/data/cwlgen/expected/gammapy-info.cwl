cwlVersion: v1.2
class: CommandLineTool
id: gammapy-info
label: 'Gammapy: Python toolbox for gamma-ray astronomy'
doc: Print information about the gammapy installation and its dependencies.
requirements:
- class: NetworkAccess
  networkAccess: true
- class: LoadListingRequirement
  loadListing: deep_listing
hints:
- class: SoftwareRequirement
  packages:
  - package: gammapy-info
    version:
    - v2.0
    specs:
    - https://doi.org/10.5281/zenodo.4701488
    - https://github.com/gammapy/gammapy
  - package: numpy
    version:
    - '>=2.0'
  - package: scipy
    version:
    - '>=1.13'
  - package: astropy
    version:
    - '>=6.1.5'
  - package: regions
    version:
    - '>=0.9.0'
  - package: pyyaml
    version:
    - '>=5.3'
  - package: click
    version:
    - '>=8.0'
  - package: pydantic
    version:
    - '>=2.8.0'
  - package: iminuit
    version:
    - '>=2.26.0'
  - package: matplotlib
    version:
    - '>=3.8'
  - package: requests
  - package: tqdm
baseCommand:
- gammapy
- info
inputs:
- id: system
  type:
  - 'null'
  - boolean
  inputBinding:
    prefix: --system
outputs:
- id: report
  type: stdout
stdout: gammapy-info.txt
s:softwareVersion: v2.0
s:author:
- s:name: Gammapy team
- s:name: Fabio Acero
  s:identifier: https://orcid.org/0000-0002-6606-2816
- s:name: Kush Agarwal
  s:identifier: https://orcid.org/0009-0004-3008-3035
- s:name: Arnau Aguasca-Cabot
  s:identifier: https://orcid.org/0000-0001-8816-4920
- s:name: Tora T.H. Arnesen
  s:identifier: https://orcid.org/0009-0004-0816-0700
- s:name: Ebraam Ashraf
  s:identifier: https://orcid.org/0009-0005-2096-3466
- s:name: Y. Emre Bahar
  s:identifier: https://orcid.org/0000-0002-4893-7615
- s:name: Tomas Bylund
  s:identifier: https://orcid.org/0000-0003-2946-1313
- s:name: Marie-Sophie Carrasco
  s:identifier: https://orcid.org/0000-0001-6484-485X
- s:name: Alexander Cerviño Cortínez
  s:identifier: https://orcid.org/0009-0007-1566-9507
- s:name: Pratham Chaudhary
  s:identifier: https://orcid.org/0009-0000-3755-6262
- s:name: Yaocheng Chen
  s:identifier: https://orcid.org/0000-0002-8967-4911
- s:name: Axel Donath
  s:identifier: https://orcid.org/0000-0003-4568-7005
- s:name: Anshita Dubey
  s:identifier: https://orcid.org/0009-0002-0120-8586
- s:name: Katharina Egg
  s:identifier: https://orcid.org/0009-0002-4238-034X
- s:name: Kirsty Feijen
  s:identifier: https://orcid.org/0000-0003-1476-3714
- s:name: Claudio Galelli
  s:identifier: https://orcid.org/0000-0002-7372-9703
- s:name: Lea Heckmann
  s:identifier: https://orcid.org/0000-0002-6653-8407
- s:name: Basmala Hekal
  s:identifier: https://orcid.org/0009-0001-6071-9522
- s:name: Bruno Khélifi
  s:identifier: https://orcid.org/0000-0001-6876-5577
- s:name: Maximilian Linhoff
  s:identifier: https://orcid.org/0000-0001-7993-8189
- s:name: Daniel Morcuende
  s:identifier: https://orcid.org/0000-0001-9400-0922
- s:name: Mireia Nievas Rosillo
  s:identifier: https://orcid.org/0000-0002-8321-9168
- s:name: Natthan Pigoux
  s:identifier: https://orcid.org/0009-0001-0100-9846
- s:name: Pierre Pichard
  s:identifier: https://orcid.org/0009-0005-9803-0762
- s:name: Fabio Pintore
  s:identifier: https://orcid.org/0000-0002-3869-2925
- s:name: Maxime Regeard
  s:identifier: https://orcid.org/0000-0002-3844-6003
- s:name: Quentin Remy
  s:identifier: https://orcid.org/0000-0002-8815-6530
- s:name: Leander Schlegel
  s:identifier: https://orcid.org/0009-0002-3619-951X
- s:name: Atreyee Sinha
  s:identifier: https://orcid.org/0000-0002-9238-7163
- s:name: Régis Terrier
  s:identifier: https://orcid.org/0000-0002-8219-4667
s:maintainer:
- s:name: Axel Donath
  s:identifier: https://orcid.org/0000-0003-4568-7005
s:license: https://spdx.org/licenses/BSD-3-Clause
s:codeRepository: https://github.com/gammapy/gammapy
s:identifier: https://doi.org/10.5281/zenodo.4701488
s:citation: https://doi.org/10.5281/zenodo.4701488
s:keywords:
- Astronomy
- Gamma-rays
- Data analysis
s:dateModified: '2026-04-02'
s:datePublished: '2025-07-26'
$namespaces:
  s: https://schema.org/
