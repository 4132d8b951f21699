#!/usr/bin/env cwl-runner
# A format checked against the tool's own ontology ($schemas: formats.ttl): only that ontology says
# that ex:fasta (the job's file) is an ex:sequence (what the tool takes). Used by
# tests/unit/cwl/test_schemas.py and tests/integration/test_profile_local.py (schema caches).
cwlVersion: v1.2
class: CommandLineTool
$namespaces: {ex: "http://example.org/formats#"}
$schemas: [formats.ttl]
baseCommand: [wc, -c]
inputs:
  seq: {type: File, format: ex:sequence, inputBinding: {position: 1}}
stdout: count.txt
outputs: {count: stdout}
