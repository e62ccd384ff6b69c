"""Evaluations of long-form writing: LongBench-Write (length score S_l, judge quality S_q, repetition) and
LongWrite-Ruler (how long a system actually writes). `data` loads benchmark items, `generate` produces and
checkpoints responses in predictions.jsonl, `scores` and `judge` grade them, and `report` turns graded rows
into report.json / report.md with plots; the `longform eval` command ties the steps together.
"""
