# Like shout.cwl, plus a step (clock) whose output is a timestamp: never the same bytes twice.
cwlVersion: v1.2
class: Workflow
label: shout and stamp
inputs:
  text: File
outputs:
  upper:
    type: File
    outputSource: shout/out
  stamp:
    type: File
    outputSource: clock/out
steps:
  shout:
    in: {src: text}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [tr, a-z, A-Z]
      stdin: $(inputs.src.path)
      stdout: upper.txt
      inputs: {src: File}
      outputs: {out: {type: stdout}}
  clock:
    in: {after: shout/out}
    out: [out]
    run:
      class: CommandLineTool
      baseCommand: [date, +%s%N]
      stdout: stamp.txt
      inputs: {after: File}
      outputs: {out: {type: stdout}}
