cwlVersion: v1.2
class: CommandLineTool
id: annotated
label: Own label
baseCommand: [wc, -l]
inputs: []
outputs: []
s:author:
  - class: s:Person
    s:name: Shipped Author
$namespaces:
  s: http://schema.org/
