cwlVersion: v1.2
class: CommandLineTool
id: agnpy
label: agnpy
doc: agnpy is a python package focusing on the computation of the radiative processes of relativistic particles accelerated in the jets of Active Galactic Nuclei (AGN). It includes classes describing the galaxy components responsible for line and thermal emission and calculates the absorption due to gamma-gamma pair production on soft (IR-UV) photon fields.
requirements:
- class: ResourceRequirement
  coresMin: 1
  ramMin: 64
- class: ToolTimeLimit
  timelimit: 60
hints:
- class: SoftwareRequirement
  packages:
  - package: agnpy
    version:
    - 0.5.0
    specs:
    - https://doi.org/10.5281/zenodo.4055175
    - https://github.com/cosimoNigro/agnpy
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
s:softwareVersion: 0.5.0
s:author:
- s:name: Cosimo Nigro
  s:identifier: https://orcid.org/0000-0001-8375-1907
  s:email: mailto:cosimo.nigro@ifae.es
s:contributor:
- s:name: Julian Sitarek
  s:identifier: https://orcid.org/0000-0002-1659-5374
  s:email: mailto:jsitarek@uni.lodz.pl
- s:name: Pawel Gliwny
  s:identifier: https://orcid.org/0000-0002-4183-391X
  s:email: mailto:p.gliwny@gmail.com
- s:name: David Sanchez
  s:email: mailto:david.sanchez@lapp.in2p3.fr
- s:name: Matthew Craig
  s:identifier: https://orcid.org/0000-0001-7988-8919
  s:email: mailto:mattwcraig@gmail.com
- s:name: Thomas Vuillaume
  s:identifier: https://orcid.org/0000-0002-5686-2078
  s:email: mailto:vuillaume@lapp.in2p3.fr
- s:name: Ilaria Viale
  s:email: mailto:ilaria.viale.1@studenti.unipd.it
- s:name: Dimitrios Maniadakis
  s:email: mailto:dimitrioskonstantinos.maniadakis@studenti.unipd.it
s:maintainer:
- s:name: Cosimo Nigro
  s:identifier: https://orcid.org/0000-0001-8375-1907
  s:email: mailto:cosimo.nigro@ifae.es
s:license: https://spdx.org/licenses/BSD-3-Clause
s:codeRepository: https://github.com/cosimoNigro/agnpy
s:identifier: https://doi.org/10.5281/zenodo.4055175
s:citation: https://doi.org/10.5281/zenodo.4055175
s:keywords:
- CTA
- astroparticle physics
- jupyter-notebook
- active galactic nuclei
- blazars
- radio jets
- radio active galactic nuclei
- radiative processes
s:programmingLanguage:
- Python 3
s:dateCreated: '2019-12-17'
s:dateModified: '2023-02-12'
s:datePublished: '2021-04-14'
$namespaces:
  s: https://schema.org/
