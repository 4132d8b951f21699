# Written for ossrflow's tests: `gammapy info` (gammapy's click CLI) as a CWL v1.0 tool,
# shipped next to gammapy's real codemeta.json (shared/fixtures/codemeta/gammapy__gammapy.json).
cwlVersion: v1.0
class: CommandLineTool
id: gammapy-info
doc: Print information about the gammapy installation and its dependencies.
baseCommand: [gammapy, info]
inputs:
  system:
    type: boolean?
    inputBinding:
      prefix: --system
outputs:
  report:
    type: stdout
stdout: gammapy-info.txt
