/// The smallest valid table spec (one row, one baseline run, a ci plan); tests vary it.
let minimalSpec = """
table: 99
title: t
source: s
columns:
  - {id: student, header: Student, kind: label}
  - {id: baseline, header: Baseline, kind: run}
plan:
  ci: {epochs: 1, seeds: 1}
rows:
  - id: r
    models: {student: resnet-mini}
    runs: {baseline: {method: baseline}}
"""
