# sha256sum prints the path of the file it reads: its output depends on where the input is
# staged. A rerun reproduces it only when inputs are staged at the same paths every time.
cwlVersion: v1.2
class: Workflow
label: checksums that name their input paths
inputs:
  text: File
outputs:
  sums:
    type: File
    outputSource: checksum/out
steps:
  checksum:
    in: {src: text}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [sha256sum]
      inputs: {src: {type: File, inputBinding: {position: 1}}}
      stdout: sums.txt
      outputs: {out: {type: stdout}}
