"""The CDK app: the whole AWS topology (DESIGN.md, "AWS topology") as stacks made of constructs.

Imports nothing of the runtime but `eventstore.schema`; the handlers are referenced by string.
"""
