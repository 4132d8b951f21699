#!/usr/bin/env cwl-runner
# A step with the scheduler hint `ossrflow compose` writes for a definition's partition/account.
cwlVersion: v1.2
class: Workflow
$namespaces:
  ossrflow: https://ossrflow.example/cwl#
inputs:
  message: string
outputs: {}
steps:
  s:
    run: shout.cwl
    hints:
      - class: ossrflow:Scheduler
        partition: debug
        account: astro
    in:
      message: message
    out: [shouted]
